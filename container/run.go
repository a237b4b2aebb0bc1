package container

import (
	"errors"
	"os"
	"os/signal"

	"github.com/hako-runtime/hako/console"
)

// Run creates and starts a container and, unless detached, waits for it,
// forwarding signals to its init, and returns its exit status the way a
// shell reports it (128+N when killed by signal N). Without keep the
// container is deleted when it exits.
func (s *Store) Run(o *CreateOptions, detach, keep bool, warn func(error)) (int, error) {
	// Catch signals before the container exists, so none is lost.
	var sigs chan os.Signal
	if !detach {
		sigs = make(chan os.Signal, 32)
		signal.Notify(sigs)
		defer signal.Stop(sigs)
	}
	o.relayConsole = !detach && o.ConsoleSocket == ""
	c, err := s.Create(o)
	if err != nil {
		return -1, err
	}
	var relay *console.Relay
	if c.console != nil {
		relay = console.StartRelay(c.console, orDefault(o.Stdin, os.Stdin), orDefault(o.Stdout, os.Stdout))
		defer relay.Close()
	}
	if err := c.Start(); err != nil {
		c.Delete(true, warn)
		c.Close()
		return -1, err
	}
	if detach {
		c.Close()
		return 0, nil
	}
	// Let `hako kill` and `hako delete` from elsewhere work meanwhile.
	c.Close()
	pid := c.State.Pid

	code := waitForward(pid, sigs)
	if relay != nil {
		relay.Close()
	}
	if !keep {
		c2, err := s.Open(c.State.ID)
		if errors.Is(err, ErrNotExist) {
			// Somebody deleted it meanwhile: nothing left to do.
			return code, nil
		}
		if err == nil {
			err = c2.Delete(true, warn)
			c2.Close()
		}
		if err != nil {
			return code, err
		}
	}
	return code, nil
}
