package main

import (
	"bytes"
	"strings"
	"testing"
)

func run(t *testing.T, input string, steps ...string) (string, int) {
	t.Helper()
	var out bytes.Buffer
	s := newSummarizer(&out, false)
	for _, l := range strings.Split(strings.TrimSpace(input), "\n") {
		s.handle(strings.TrimSpace(l))
	}
	n := s.close(steps)
	return out.String(), n
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func TestCountsLeavesAndParents(t *testing.T) {
	in := `
{"Action":"start","Package":"p"}
{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"pass","Package":"p","Test":"TestA","Elapsed":0.1}
{"Action":"run","Package":"p","Test":"TestB"}
{"Action":"run","Package":"p","Test":"TestB/one"}
{"Action":"output","Package":"p","Test":"TestB/one","Output":"    x_test.go:1: boom\n"}
{"Action":"fail","Package":"p","Test":"TestB/one"}
{"Action":"run","Package":"p","Test":"TestB/two"}
{"Action":"skip","Package":"p","Test":"TestB/two"}
{"Action":"fail","Package":"p","Test":"TestB"}
{"Action":"run","Package":"p","Test":"TestC"}
{"Action":"run","Package":"p","Test":"TestC/x"}
{"Action":"pass","Package":"p","Test":"TestC/x"}
{"Action":"fail","Package":"p","Test":"TestC"}
{"Action":"fail","Package":"p","Elapsed":1}
`
	out, n := run(t, in)
	if got, want := lastLine(out), "2 passed, 2 failed, 1 skipped"; got != want {
		t.Fatalf("closing line %q, want %q\n%s", got, want, out)
	}
	if n != 2 {
		t.Fatalf("failures %d", n)
	}
	if !strings.Contains(out, "boom") {
		t.Fatalf("failing test output missing:\n%s", out)
	}
}

func TestPackageFailureOutsideTests(t *testing.T) {
	in := `
{"Action":"start","Package":"q"}
{"Action":"output","Package":"q","Output":"cannot build hako\n"}
{"Action":"output","Package":"q","Output":"FAIL\tq\t0.1s\n"}
{"Action":"fail","Package":"q","Elapsed":0.1}
`
	out, _ := run(t, in, "vet")
	if got, want := lastLine(out), "0 passed, 2 failed"; got != want {
		t.Fatalf("closing line %q, want %q\n%s", got, want, out)
	}
	if !strings.Contains(out, "cannot build hako") || !strings.Contains(out, "step vet failed") {
		t.Fatalf("missing details:\n%s", out)
	}
}

func TestUnfinishedTestCountsAsFailed(t *testing.T) {
	in := `
{"Action":"start","Package":"r"}
{"Action":"run","Package":"r","Test":"TestSlow"}
{"Action":"run","Package":"r","Test":"TestOK"}
{"Action":"pass","Package":"r","Test":"TestOK"}
{"Action":"output","Package":"r","Output":"panic: test timed out after 1s\n"}
{"Action":"fail","Package":"r","Elapsed":1}
`
	out, _ := run(t, in)
	if got, want := lastLine(out), "1 passed, 1 failed"; got != want {
		t.Fatalf("closing line %q, want %q\n%s", got, want, out)
	}
}

func TestBuildFailure(t *testing.T) {
	in := `
{"ImportPath":"s [s.test]","Action":"build-output","Output":"./x.go:1:1: syntax error\n"}
{"ImportPath":"s [s.test]","Action":"build-fail"}
{"Action":"start","Package":"s"}
{"Action":"output","Package":"s","Output":"FAIL\ts [build failed]\n"}
{"Action":"fail","Package":"s","Elapsed":0,"FailedBuild":"s [s.test]"}
`
	out, n := run(t, in)
	if n != 1 || !strings.Contains(out, "syntax error") {
		t.Fatalf("build failure not reported (%d):\n%s", n, out)
	}
}

func TestAllPass(t *testing.T) {
	in := `
{"Action":"start","Package":"u"}
{"Action":"run","Package":"u","Test":"TestA"}
{"Action":"pass","Package":"u","Test":"TestA"}
{"Action":"pass","Package":"u","Elapsed":0.1}
{"Action":"start","Package":"v"}
{"Action":"output","Package":"v","Output":"?   \tv\t[no test files]\n"}
{"Action":"skip","Package":"v","Elapsed":0}
not json at all
`
	out, n := run(t, in)
	if n != 0 || lastLine(out) != "1 passed, 0 failed" || !strings.Contains(out, "not json at all") {
		t.Fatalf("unexpected (%d):\n%s", n, out)
	}
}

func TestFramingLinesDropped(t *testing.T) {
	got := testOutput([]string{"=== RUN   TestX\n", "    x_test.go:3: boom\n", "        --- stderr:\n", "--- FAIL: TestX (0.00s)\n"})
	if len(got) != 2 || !strings.Contains(got[1], "--- stderr:") {
		t.Fatalf("testOutput: %q", got)
	}
}
