package benchkit

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Kill ends the process with SIGKILL, as a crash or the OOM killer would, giving it no
// chance to clean up, and waits until it has been reaped. Killing a process that has exited
// does nothing.
func (p *Process) Kill() {
	if p.alive() {
		_ = p.cmd.Process.Kill()
	}
	<-p.exited
}

// WaitOK polls url, at intervals of poll, until it answers 200, for at most within. It gives
// up when the process exits. WaitReady is WaitOK on /readyz; a process whose readiness
// depends on a server that is down on purpose is waited for on its liveness path instead.
func (p *Process) WaitOK(ctx context.Context, url string, within, poll time.Duration) error {
	tr := &http.Transport{MaxIdleConnsPerHost: 1}
	defer tr.CloseIdleConnections()
	client := &http.Client{Timeout: time.Second, Transport: tr}
	deadline := time.Now().Add(within)
	for {
		if err := p.Check(); err != nil {
			return err
		}
		resp, err := get(ctx, client, url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %s did not answer 200 within %s (last answer: %v)%s", p.name, url, within, err,
				Indented(p.Tail(20)))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}
