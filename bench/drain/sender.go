package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/smtp"
	"sync"
	"time"

	oesmail "github.com/oeshq/oes/pkg/infra/mail"
	"github.com/oeshq/oes/pkg/infra/mail/smtpsend"
)

// The reference senders, each run as its own process (-send).
const (
	// senderCeiling is a plain net/smtp client: conns persistent connections, each sending
	// its share of the messages one after the other, with the bytes composed beforehand.
	senderCeiling = "ceiling"
	// senderLibrary is the worker's own sender, smtpsend, with a pool of conns connections,
	// called by conns goroutines without a queue: what the worker would do if taking a job
	// and recording its outcome cost nothing.
	senderLibrary = "smtpsend"
)

// The lines a sender and drain exchange on the sender's stdin and stdout. Preparing the
// messages is not measured: the sender says ready, drain answers go when it has read its
// counters, the sender says sent when the sink should have everything, and it closes its
// connections and exits on exit, once drain has read the counters again.
const (
	lineReady = "ready"
	lineGo    = "go"
	lineSent  = "sent"
	lineExit  = "exit"
)

// runSender is the process a reference sender runs in.
func runSender(ctx context.Context, o options, stdin io.Reader, stdout io.Writer) error {
	msgs, err := benchMessages(studentAddresses, o.n)
	if err != nil {
		return err
	}
	var send func(context.Context) (finish func(), err error)
	switch o.send {
	case senderCeiling:
		wire, err := composeWire(ctx, msgs)
		if err != nil {
			return err
		}
		send = func(ctx context.Context) (func(), error) { return sendPlain(ctx, o.sinkAddr, o.conns, wire) }
	case senderLibrary:
		send = func(ctx context.Context) (func(), error) { return sendLibrary(ctx, o.sinkAddr, o.conns, msgs) }
	}

	in := bufio.NewScanner(stdin)
	expect := func(want string) error {
		if !in.Scan() {
			return fmt.Errorf("waiting for %q: %v", want, errors.Join(in.Err(), io.ErrUnexpectedEOF))
		}
		if got := in.Text(); got != want {
			return fmt.Errorf("got %q, want %q", got, want)
		}
		return nil
	}
	if _, err := fmt.Fprintln(stdout, lineReady); err != nil {
		return err
	}
	if err := expect(lineGo); err != nil {
		return err
	}
	finish, err := send(ctx)
	if err != nil {
		return err
	}
	defer finish()
	if _, err := fmt.Fprintln(stdout, lineSent); err != nil {
		return err
	}
	return expect(lineExit)
}

// sendPlain sends wire over conns connections, each sending every conns-th message in turn.
// finish says QUIT on each connection.
func sendPlain(ctx context.Context, addr string, conns int, wire []wireMessage) (finish func(), err error) {
	clients := make([]*smtp.Client, conns)
	errs := make([]error, conns)
	var wg sync.WaitGroup
	for i := range conns {
		wg.Go(func() {
			clients[i], errs[i] = sendShare(ctx, addr, wire, i, conns)
		})
	}
	wg.Wait()
	finish = func() {
		for _, c := range clients {
			if c != nil {
				_ = c.Quit()
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		finish()
		return nil, err
	}
	return finish, nil
}

// sendShare dials one connection and sends wire[first], wire[first+step], ... on it.
func sendShare(ctx context.Context, addr string, wire []wireMessage, first, step int) (*smtp.Client, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c, err := smtp.NewClient(conn, "127.0.0.1")
	if err != nil {
		conn.Close()
		return nil, err
	}
	if err := c.Hello("localhost"); err != nil {
		c.Close()
		return nil, err
	}
	for i := first; i < len(wire); i += step {
		if err := ctx.Err(); err != nil {
			c.Close()
			return nil, err
		}
		if err := sendOne(c, wire[i]); err != nil {
			c.Close()
			return nil, fmt.Errorf("message %d: %w", i, err)
		}
	}
	return c, nil
}

func sendOne(c *smtp.Client, m wireMessage) error {
	if err := c.Mail(m.from); err != nil {
		return err
	}
	for _, to := range m.to {
		if err := c.Rcpt(to); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(m.data); err != nil {
		return err
	}
	return w.Close()
}

// sendLibrary sends msgs through an smtpsend.Sender configured as the worker's, from conns
// goroutines each sending every conns-th message. finish closes the sender.
func sendLibrary(ctx context.Context, addr string, conns int, msgs []oesmail.Message) (finish func(), err error) {
	host, port, err := splitHostPort(addr)
	if err != nil {
		return nil, err
	}
	sender, err := smtpsend.New(smtpsend.Config{Host: host, Port: port, TLS: smtpsend.TLSNone, From: smtpFrom, PoolSize: conns})
	if err != nil {
		return nil, err
	}
	errs := make([]error, conns)
	var wg sync.WaitGroup
	for i := range conns {
		wg.Go(func() {
			for j := i; j < len(msgs); j += conns {
				if _, err := sender.Send(ctx, msgs[j]); err != nil {
					errs[i] = fmt.Errorf("message %d: %w", j, err)
					return
				}
			}
		})
	}
	wg.Wait()
	finish = func() { _ = sender.Close() }
	if err := errors.Join(errs...); err != nil {
		finish()
		return nil, err
	}
	return finish, nil
}
