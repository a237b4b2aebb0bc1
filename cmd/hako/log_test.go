package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
)

// With --log, a warning goes to the log file only: under containerd and
// Docker hako's stderr during create is the container's own.
func TestWarnGoesToLogFileOnly(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stderr
	os.Stderr = w
	var logged bytes.Buffer
	(&logger{out: &logged, json: true}).warn(errors.New("something skipped"))
	(&logger{}).warn(errors.New("no log file"))
	os.Stderr = saved
	w.Close()
	stderr, _ := io.ReadAll(r)
	if !strings.Contains(logged.String(), `"level":"warning","msg":"something skipped"`) {
		t.Errorf("log file: %q", logged.String())
	}
	if got := string(stderr); got != "hako: warning: no log file\n" {
		t.Errorf("stderr: %q", got)
	}
}
