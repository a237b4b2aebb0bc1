package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// logger writes runc-style log lines: text (logfmt) or JSON with level,
// msg and time, the keys containerd reads from --log.
type logger struct {
	out   io.Writer // the --log file, or nil
	json  bool
	debug bool
}

func newLogger(g *Globals) *logger {
	l := &logger{json: g.LogFormat == "json", debug: g.Debug}
	if g.Log != "" {
		f, err := os.OpenFile(g.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			fmt.Fprintf(os.Stderr, "hako: open log file %s: %v\n", g.Log, err)
			os.Exit(1)
		}
		l.out = f
	}
	return l
}

func (l *logger) write(w io.Writer, level, msg string) {
	now := time.Now().UTC().Format(time.RFC3339Nano)
	if l.json {
		b, _ := json.Marshal(struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
			Time  string `json:"time"`
		}{level, msg, now})
		fmt.Fprintf(w, "%s\n", b)
		return
	}
	fmt.Fprintf(w, "time=%q level=%s msg=%q\n", now, level, msg)
}

func (l *logger) log(level, msg string) {
	if l.out != nil {
		l.write(l.out, level, msg)
	}
}

// warn reports err as a warning: in the --log file when there is one
// (as runc does: under containerd and Docker the stderr of create and run
// is the container's own, so a warning there would land in its output),
// on stderr otherwise.
func (l *logger) warn(err error) {
	if l.out != nil {
		l.log("warning", err.Error())
		return
	}
	fmt.Fprintf(os.Stderr, "hako: warning: %v\n", err)
}

func (l *logger) debugf(format string, args ...any) {
	if l.debug {
		msg := fmt.Sprintf(format, args...)
		l.log("debug", msg)
		if l.out == nil {
			l.write(os.Stderr, "debug", msg)
		}
	}
}

// fatal reports err and exits non-zero. The error goes to the log file
// when there is one (containerd reads its last error line) and always to
// stderr, in the log format when that is JSON.
func (l *logger) fatal(err error) {
	var ee exitError
	if errors.As(err, &ee) {
		os.Exit(ee.code)
	}
	l.log("error", err.Error())
	if l.json && l.out == nil {
		l.write(os.Stderr, "error", err.Error())
	} else {
		fmt.Fprintf(os.Stderr, "hako: %v\n", err)
	}
	os.Exit(1)
}
