package notify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"
)

// defaultSMTPTimeout bounds one submission when the context has no deadline.
const defaultSMTPTimeout = 30 * time.Second

// SMTP submits email to a mail server with the standard library's net/smtp:
// STARTTLS whenever the server offers it, PLAIN authentication when a
// username is set (net/smtp sends it only over TLS or to localhost).
//
// A permanent reply (5xx) to the recipient (RCPT TO) or to the message (DATA
// and its end), and a recipient that is not an address, refuse the message for
// good (Rejected). Everything else is temporary: 4xx replies, timeouts,
// connection failures, and also 5xx replies to the greeting, STARTTLS, AUTH
// and MAIL FROM, which are about Omni's own sender and account, the same for
// every message, and mended by fixing the configuration: the messages waiting
// go out then.
type SMTP struct {
	// Addr is the server's host:port.
	Addr     string
	Username string
	Password string
	// From is the sender, optionally with a name: "Shop <no-reply@shop.example>".
	From string
	// Now dates messages (default time.Now).
	Now func() time.Time
}

// Send submits m as a plain-text, UTF-8 email. The context's deadline bounds
// the whole conversation with the server.
func (s SMTP) Send(ctx context.Context, m Message) error {
	from, err := mail.ParseAddress(s.From)
	if err != nil {
		return fmt.Errorf("smtp: sender %q: %v", s.From, err)
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return Rejected("smtp: recipient %q is not an email address: %v", m.To, err)
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	msg, err := emailMessage(from, to, m, now())
	if err != nil {
		return err
	}

	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return fmt.Errorf("smtp: address %q: %v", s.Addr, err)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("smtp: %v", err)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = now().Add(defaultSMTPTimeout)
	}
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp: %v", err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}); err != nil {
			return failure("starttls", err, false)
		}
	}
	if s.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.Username, s.Password, host)); err != nil {
			return failure("auth", err, false)
		}
	}
	if err := c.Mail(from.Address); err != nil {
		return failure("MAIL FROM", err, false)
	}
	if err := c.Rcpt(to.Address); err != nil {
		return failure("RCPT TO", err, true)
	}
	w, err := c.Data()
	if err != nil {
		return failure("DATA", err, true)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("smtp: DATA: %v", err)
	}
	if err := w.Close(); err != nil {
		return failure("message refused", err, true)
	}
	_ = c.Quit() // the message is accepted; a failed goodbye changes nothing
	return nil
}

// failure is the error of a step of the conversation, quoting the server's
// reply on one line. A permanent reply (5xx) to a step about this message
// refuses it for good (Rejected); anything else is temporary.
func failure(step string, err error, aboutMessage bool) error {
	var reply *textproto.Error
	if !errors.As(err, &reply) {
		return fmt.Errorf("smtp: %s: %v", step, err)
	}
	said := fmt.Sprintf("%03d %s", reply.Code, strings.Join(strings.Fields(reply.Msg), " "))
	if aboutMessage && reply.Code >= 500 && reply.Code <= 599 {
		return Rejected("smtp: %s: %s", step, said)
	}
	return fmt.Errorf("smtp: %s: %s", step, said)
}

// emailMessage writes the RFC 5322 message: UTF-8 text, quoted-printable, and
// a Message-ID made from the notification key, so that a repeat of the same
// notification carries the same id.
func emailMessage(from, to *mail.Address, m Message, now time.Time) ([]byte, error) {
	sum := sha256.Sum256([]byte(m.Key))
	domain := from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	oneLine := strings.NewReplacer("\r", " ", "\n", " ") // no header injection
	var b bytes.Buffer
	header := func(name, value string) {
		fmt.Fprintf(&b, "%s: %s\r\n", name, oneLine.Replace(value))
	}
	header("From", from.String())
	header("To", to.String())
	header("Subject", mime.QEncoding.Encode("utf-8", oneLine.Replace(m.Subject)))
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", "<"+hex.EncodeToString(sum[:16])+".omni@"+domain+">")
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	if m.Language != "" {
		header("Content-Language", m.Language)
	}
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(m.Body)); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
