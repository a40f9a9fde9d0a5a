package chaos

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// buildOmni builds the omni binary from the repository at root into dir.
func buildOmni(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "omni")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/omni")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/omni: %w\n%s", err, out)
	}
	return bin, nil
}

// omniProc is the `omni dev` child process: started, killed with SIGKILL and
// started again on the same data directory, database and ports.
type omniProc struct {
	bin, logPath string
	env          []string
	base         string // http://127.0.0.1:port
	cmd          *exec.Cmd
	exited       chan struct{}
	starts       int
}

// start starts `omni dev` and waits until /readyz answers 200 (PostgreSQL and
// Temporal reachable). A process that dies while starting (its database is
// restarting) is started again, a bounded number of times.
func (p *omniProc) start(ctx context.Context) error {
	var last error
	for attempt := 0; attempt < 5; attempt++ {
		if err := p.spawn(); err != nil {
			return err
		}
		if last = p.waitReady(ctx, 120*time.Second); last == nil {
			return nil
		}
		p.kill()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
	return fmt.Errorf("omni dev did not become ready (log: %s): %w", p.logPath, last)
}

func (p *omniProc) spawn() error {
	log, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	p.starts++
	fmt.Fprintf(log, "\n===== chaos: start %d at %s =====\n", p.starts, time.Now().UTC().Format(time.RFC3339Nano))
	cmd := exec.Command(p.bin, "dev")
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); log.Close(); close(exited) }()
	p.cmd, p.exited = cmd, exited
	return nil
}

func (p *omniProc) waitReady(ctx context.Context, within time.Duration) error {
	cl := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return errors.New("omni dev exited while starting")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		resp, err := cl.Get(p.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("not ready within %s", within)
}

// kill ends the process with SIGKILL, as a crash would, and waits for it.
func (p *omniProc) kill() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
	p.cmd = nil
}

// stop ends the process cleanly (SIGINT), or kills it after a while.
func (p *omniProc) stop() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.exited:
		p.cmd = nil
	case <-time.After(30 * time.Second):
		p.kill()
	}
}
