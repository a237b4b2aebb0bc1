// Command summarize reads the output of `go test -json` on its standard input,
// prints readable progress (one line per package and per top-level test, and
// the full output of every failing test) and ends with exactly one closing
// line:
//
//	N passed, M failed[, K skipped]
//
// Counting convention: every test that has no subtests counts once; a test
// with subtests counts through its subtests only, plus once as failed when it
// failed although none of its subtests did (a t.Fatal outside t.Run, say). A
// test that started but never finished (a timeout panic) counts as failed, and
// so does a package that failed outside any test (build error, TestMain exit,
// panic) or a step named with -failed-step (vet, build).
//
// The exit status is 1 when M > 0, else 0.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
)

// event is one line of `go test -json` (see `go doc test2json`).
type event struct {
	Time        time.Time `json:",omitempty"`
	Action      string
	Package     string
	ImportPath  string // build-output and build-fail events
	Test        string
	Elapsed     float64
	Output      string
	FailedBuild string
}

type testState struct {
	name    string
	result  string // "", "pass", "fail", "skip"
	elapsed float64
	output  []string
}

type pkgState struct {
	name   string
	result string
	output []string
	tests  map[string]*testState
	order  []string
}

type stepList []string

func (s *stepList) String() string     { return strings.Join(*s, ",") }
func (s *stepList) Set(v string) error { *s = append(*s, v); return nil }

type summarizer struct {
	out         io.Writer
	verbose     bool
	pkgs        map[string]*pkgState
	pkgOrder    []string
	buildOutput map[string][]string
}

func newSummarizer(out io.Writer, verbose bool) *summarizer {
	return &summarizer{out: out, verbose: verbose, pkgs: map[string]*pkgState{}, buildOutput: map[string][]string{}}
}

func (s *summarizer) pkg(name string) *pkgState {
	p, ok := s.pkgs[name]
	if !ok {
		p = &pkgState{name: name, tests: map[string]*testState{}}
		s.pkgs[name] = p
		s.pkgOrder = append(s.pkgOrder, name)
	}
	return p
}

func (p *pkgState) test(name string) *testState {
	t, ok := p.tests[name]
	if !ok {
		t = &testState{name: name}
		p.tests[name] = t
		p.order = append(p.order, name)
	}
	return t
}

func (s *summarizer) printf(format string, args ...any) {
	fmt.Fprintf(s.out, format, args...)
}

func (s *summarizer) printOutput(lines []string, indent string) {
	for _, l := range lines {
		s.printf("%s%s\n", indent, strings.TrimRight(l, "\n"))
	}
}

// testOutput drops go test's framing lines (=== RUN, --- FAIL: ...) from a
// test's output: the summary prints its own.
func testOutput(lines []string) []string {
	var out []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- PASS: ") ||
			strings.HasPrefix(t, "--- FAIL: ") || strings.HasPrefix(t, "--- SKIP: ") {
			continue
		}
		out = append(out, l)
	}
	return out
}

// shortName is the last element of a package path: "integration" for
// github.com/hako-runtime/hako/test/integration.
func shortName(pkg string) string {
	return pkg[strings.LastIndex(pkg, "/")+1:]
}

// handle processes one input line.
func (s *summarizer) handle(line string) {
	var e event
	if !strings.HasPrefix(line, "{") || json.Unmarshal([]byte(line), &e) != nil {
		// Not JSON: something go test printed outside test2json (a build
		// error on older Go versions, say). Pass it through.
		s.printf("%s\n", line)
		return
	}
	switch e.Action {
	case "build-output":
		s.buildOutput[e.ImportPath] = append(s.buildOutput[e.ImportPath], e.Output)
		return
	case "build-fail":
		s.printf("BUILD FAIL %s\n", e.ImportPath)
		s.printOutput(s.buildOutput[e.ImportPath], "    ")
		return
	}
	if e.Package == "" {
		return
	}
	p := s.pkg(e.Package)
	if e.Test == "" {
		switch e.Action {
		case "output":
			p.output = append(p.output, e.Output)
		case "pass", "fail", "skip":
			p.result = e.Action
			s.finishPackage(p, e)
		}
		return
	}
	t := p.test(e.Test)
	switch e.Action {
	case "output":
		t.output = append(t.output, e.Output)
	case "pass", "fail", "skip":
		t.result = e.Action
		t.elapsed = e.Elapsed
		s.finishTest(p, t)
	}
}

func (s *summarizer) finishTest(p *pkgState, t *testState) {
	top := !strings.Contains(t.name, "/")
	name := shortName(p.name) + "." + t.name
	switch t.result {
	case "fail":
		s.printf("  FAIL %s (%.2fs)\n", name, t.elapsed)
		s.printOutput(testOutput(t.output), "      ")
	case "skip":
		if top || s.verbose {
			s.printf("  SKIP %s%s\n", name, skipReason(t.output))
		}
	case "pass":
		if top || s.verbose {
			s.printf("  ok   %s (%.2fs)\n", name, t.elapsed)
		}
	}
}

// skipReason returns ": reason" from a skipped test's output, if any.
func skipReason(output []string) string {
	for i := len(output) - 1; i >= 0; i-- {
		l := strings.TrimSpace(output[i])
		if l == "" || strings.HasPrefix(l, "---") || strings.HasPrefix(l, "===") {
			continue
		}
		return ": " + l
	}
	return ""
}

// counts returns the package's counts per the convention in the package doc,
// and the names of the failures.
func (p *pkgState) counts() (passed, failed, skipped int, failures []string) {
	hasChildren := map[string]bool{}
	for _, name := range p.order {
		if i := strings.LastIndex(name, "/"); i >= 0 {
			for parent := name[:i]; ; {
				hasChildren[parent] = true
				j := strings.LastIndex(parent, "/")
				if j < 0 {
					break
				}
				parent = parent[:j]
			}
		}
	}
	// failedBelow[name]: some descendant of name is counted as failed.
	failedBelow := map[string]bool{}
	markFailed := func(name string) {
		for {
			i := strings.LastIndex(name, "/")
			if i < 0 {
				return
			}
			name = name[:i]
			failedBelow[name] = true
		}
	}
	// Leaves first, so that parents know whether a descendant failed.
	names := append([]string(nil), p.order...)
	sort.SliceStable(names, func(i, j int) bool {
		return strings.Count(names[i], "/") > strings.Count(names[j], "/")
	})
	for _, name := range names {
		t := p.tests[name]
		result := t.result
		if result == "" {
			result = "fail" // started, never finished
		}
		if hasChildren[name] {
			if result == "fail" && !failedBelow[name] {
				failed++
				failures = append(failures, name)
				markFailed(name)
			}
			continue
		}
		switch result {
		case "pass":
			passed++
		case "skip":
			skipped++
		case "fail":
			failed++
			failures = append(failures, name)
			markFailed(name)
		}
	}
	if p.result == "fail" && failed == 0 {
		failed++
		failures = append(failures, "(package failed outside any test)")
	}
	if p.result == "" && len(p.order) > 0 {
		// The stream ended before the package did.
		if failed == 0 {
			failed++
			failures = append(failures, "(package did not finish)")
		}
	}
	sort.Strings(failures)
	return passed, failed, skipped, failures
}

func (s *summarizer) finishPackage(p *pkgState, e event) {
	passed, failed, skipped, _ := p.counts()
	if p.result == "skip" && len(p.order) == 0 {
		if s.verbose {
			s.printf("?    %s [no test files]\n", p.name)
		}
		return
	}
	status := "ok  "
	if p.result == "fail" {
		status = "FAIL"
	}
	extra := ""
	if skipped > 0 {
		extra = fmt.Sprintf(", %d skipped", skipped)
	}
	s.printf("%s %s (%.1fs): %d passed, %d failed%s\n", status, p.name, e.Elapsed, passed, failed, extra)
	if p.result == "fail" {
		// The package's own output: build errors, TestMain messages, panics.
		var own []string
		for _, l := range p.output {
			t := strings.TrimSpace(l)
			if t == "FAIL" || strings.HasPrefix(t, "FAIL\t") || strings.HasPrefix(t, "ok  \t") {
				continue
			}
			own = append(own, l)
		}
		if e.FailedBuild != "" {
			own = append(s.buildOutput[e.FailedBuild], own...)
		}
		if len(own) > 0 {
			s.printf("  output of %s outside any test:\n", p.name)
			s.printOutput(own, "      ")
		}
	} else if s.verbose {
		s.printOutput(p.output, "      ")
	}
}

// close prints the list of failures and the closing line and returns the
// number of failures.
func (s *summarizer) close(failedSteps []string) int {
	var passed, failed, skipped int
	var failures []string
	for _, name := range s.pkgOrder {
		p := s.pkgs[name]
		ps, f, sk, fl := p.counts()
		passed += ps
		failed += f
		skipped += sk
		for _, x := range fl {
			failures = append(failures, p.name+": "+x)
		}
	}
	for _, step := range failedSteps {
		failed++
		failures = append(failures, "step "+step+" failed")
	}
	if len(failures) > 0 {
		s.printf("\nFailures:\n")
		for _, f := range failures {
			s.printf("  %s\n", f)
		}
	}
	line := fmt.Sprintf("%d passed, %d failed", passed, failed)
	if skipped > 0 {
		line += fmt.Sprintf(", %d skipped", skipped)
	}
	s.printf("%s\n", line)
	return failed
}

func main() {
	verbose := flag.Bool("v", false, "print every test and package, not only top-level tests and failures")
	raw := flag.String("raw", "", "also copy the raw JSON input to this file")
	var steps stepList
	flag.Var(&steps, "failed-step", "a step outside go test that failed (counted as one failure; repeatable)")
	flag.Parse()

	in := io.Reader(os.Stdin)
	if *raw != "" {
		f, err := os.Create(*raw)
		if err != nil {
			fmt.Fprintln(os.Stderr, "summarize:", err)
			os.Exit(2)
		}
		defer f.Close()
		in = io.TeeReader(os.Stdin, f)
	}
	s := newSummarizer(os.Stdout, *verbose)
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1024*1024), 64*1024*1024)
	for sc.Scan() {
		s.handle(sc.Text())
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "summarize: reading input:", err)
		steps = append(steps, "summarize (input unreadable)")
	}
	if s.close(steps) > 0 {
		os.Exit(1)
	}
}
