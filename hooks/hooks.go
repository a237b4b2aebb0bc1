// Package hooks runs OCI lifecycle hooks: each hook is executed with the
// container state as JSON on its stdin, its own args and env, and an
// optional timeout after which it is killed.
package hooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Run runs the hooks of one phase in order and stops at the first failure.
// name is the phase ("prestart", "poststop", ...) used in errors.
func Run(name string, hooks []specs.Hook, state []byte) error {
	for i := range hooks {
		if err := runOne(&hooks[i], state); err != nil {
			return fmt.Errorf("%s hook #%d (%s): %w", name, i, hooks[i].Path, err)
		}
	}
	return nil
}

// RunAll runs every hook of one phase in order, also the ones after a
// failure, and passes each failure to failed. This is poststop's rule: a
// failing hook is a warning and the remaining hooks run as if it had
// succeeded (runtime-spec, lifecycle step 13).
func RunAll(name string, hooks []specs.Hook, state []byte, failed func(error)) {
	for i := range hooks {
		if err := runOne(&hooks[i], state); err != nil && failed != nil {
			failed(fmt.Errorf("%s hook #%d (%s): %w", name, i, hooks[i].Path, err))
		}
	}
}

func runOne(h *specs.Hook, state []byte) error {
	ctx := context.Background()
	if h.Timeout != nil {
		if *h.Timeout <= 0 {
			return fmt.Errorf("timeout must be positive, got %d", *h.Timeout)
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(*h.Timeout)*time.Second)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, h.Path)
	if len(h.Args) > 0 {
		cmd.Args = h.Args
	} else {
		cmd.Args = []string{h.Path}
	}
	// A hook's environment is exactly what the config gives it.
	cmd.Env = h.Env
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	// The hook may not read its stdin: exec's copying goroutine then gets
	// EPIPE, which os/exec ignores for stdin, so it cannot break us.
	cmd.Stdin = bytes.NewReader(state)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	// A hook that forks children which keep its output open must not
	// hang us after it exits.
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("timed out after %ds", *h.Timeout)
	}
	if err != nil {
		msg := strings.TrimSpace(out.String())
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				err = fmt.Errorf("killed by signal %d", ws.Signal())
			} else {
				err = fmt.Errorf("exit status %d", ee.ExitCode())
			}
		}
		if msg != "" {
			if len(msg) > 512 {
				msg = msg[:512] + "..."
			}
			return fmt.Errorf("%w: %s", err, msg)
		}
		return err
	}
	return nil
}
