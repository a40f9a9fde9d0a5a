// Package smtptest is a minimal SMTP server for tests: it accepts every
// message (EHLO/HELO, MAIL FROM, RCPT TO, DATA, RSET, NOOP, QUIT; no TLS, no
// AUTH) on 127.0.0.1 and keeps what it received, decoded, for assertions.
// It can be told to refuse the next messages, a sender or a recipient, with
// the reply of one's choice (451 try again later, 550 mailbox unavailable…),
// to test retries and permanent failures.
package smtptest

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

// Message is one message the server accepted.
type Message struct {
	From    string
	To      []string
	Header  mail.Header
	Subject string // decoded
	Body    string // decoded (quoted-printable), CRLF as LF
	Raw     []byte
}

// Server is a running test SMTP server.
type Server struct {
	// Addr is host:port to submit to.
	Addr string

	ln      net.Listener
	mu      sync.Mutex
	msgs    []Message
	refuse  int
	refusal string            // the reply to a refused message
	senders string            // the reply to every MAIL FROM, when set
	rcpts   map[string]string // address → the reply to its RCPT TO
	conns   map[net.Conn]bool
	arrived chan struct{} // closed and replaced whenever a message arrives
	wg      sync.WaitGroup
}

// Start starts a server on a free port of 127.0.0.1; it stops when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	s := &Server{Addr: ln.Addr().String(), ln: ln, arrived: make(chan struct{}), conns: map[net.Conn]bool{},
		rcpts: map[string]string{}}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.Close)
	return s
}

// Close stops the server.
func (s *Server) Close() {
	_ = s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// RefuseNext makes the server refuse the next n messages (451 after DATA).
func (s *Server) RefuseNext(n int) { s.RefuseNextWith(n, "451 try again later") }

// RefuseNextWith makes the server refuse the next n messages with reply
// after DATA, e.g. "554 5.7.1 message rejected as spam".
func (s *Server) RefuseNextWith(n int, reply string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse, s.refusal = n, reply
}

// RejectRecipient makes the server answer RCPT TO for address with reply,
// e.g. "550 5.1.1 mailbox unavailable"; "" accepts it again.
func (s *Server) RejectRecipient(address, reply string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if reply == "" {
		delete(s.rcpts, address)
		return
	}
	s.rcpts[address] = reply
}

// RejectSender makes the server answer every MAIL FROM with reply, e.g.
// "553 5.7.1 sender not allowed"; "" accepts senders again.
func (s *Server) RejectSender(reply string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.senders = reply
}

// rejection is the configured reply to a command, "" when it is accepted.
func (s *Server) rejection(verb, address string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if verb == "MAIL" {
		return s.senders
	}
	return s.rcpts[address]
}

// Messages returns the messages accepted so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Wait returns the first accepted message for which match is true, waiting
// up to within for it.
func (s *Server) Wait(within time.Duration, match func(Message) bool) (Message, bool) {
	deadline := time.After(within)
	for {
		s.mu.Lock()
		msgs, arrived := append([]Message(nil), s.msgs...), s.arrived
		s.mu.Unlock()
		for _, m := range msgs {
			if match(m) {
				return m, true
			}
		}
		select {
		case <-arrived:
		case <-deadline:
			return Message{}, false
		}
	}
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[conn] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, conn)
				s.mu.Unlock()
				conn.Close()
			}()
			_ = conn.SetDeadline(time.Now().Add(time.Minute))
			s.session(textproto.NewConn(conn))
		}()
	}
}

func (s *Server) session(c *textproto.Conn) {
	reply := func(format string, args ...any) bool { return c.PrintfLine(format, args...) == nil }
	if !reply("220 smtptest ESMTP ready") {
		return
	}
	var from string
	var to []string
	for {
		line, err := c.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			_ = reply("250-smtptest greets %s", arg)
			_ = reply("250 8BITMIME")
		case "HELO":
			_ = reply("250 smtptest")
		case "MAIL":
			if r := s.rejection("MAIL", address(arg)); r != "" {
				_ = reply("%s", r)
				continue
			}
			from, to = address(arg), nil
			_ = reply("250 OK")
		case "RCPT":
			if r := s.rejection("RCPT", address(arg)); r != "" {
				_ = reply("%s", r)
				continue
			}
			to = append(to, address(arg))
			_ = reply("250 OK")
		case "DATA":
			if from == "" || len(to) == 0 {
				_ = reply("503 need MAIL and RCPT first")
				continue
			}
			_ = reply("354 end with <CRLF>.<CRLF>")
			raw, err := c.ReadDotBytes()
			if err != nil {
				return
			}
			if refusal, ok := s.accept(from, to, raw); ok {
				_ = reply("250 OK queued")
			} else {
				_ = reply("%s", refusal)
			}
			from, to = "", nil
		case "RSET":
			from, to = "", nil
			_ = reply("250 OK")
		case "NOOP":
			_ = reply("250 OK")
		case "QUIT":
			_ = reply("221 bye")
			return
		default:
			_ = reply("502 command not implemented")
		}
	}
}

// accept keeps the message, or reports the reply that refuses it.
func (s *Server) accept(from string, to []string, raw []byte) (refusal string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refuse > 0 {
		s.refuse--
		return s.refusal, false
	}
	m := Message{From: from, To: to, Raw: raw}
	if msg, err := mail.ReadMessage(bytes.NewReader(raw)); err == nil {
		m.Header = msg.Header
		m.Subject, _ = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		var body io.Reader = msg.Body
		if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
			body = quotedprintable.NewReader(body)
		}
		b, _ := io.ReadAll(body)
		m.Body = strings.ReplaceAll(string(b), "\r\n", "\n")
	}
	s.msgs = append(s.msgs, m)
	close(s.arrived)
	s.arrived = make(chan struct{})
	return "", true
}

// address takes the address out of "FROM:<a@b>" or "TO:<a@b> PARAM=x".
func address(arg string) string {
	_, rest, _ := strings.Cut(arg, ":")
	rest = strings.TrimSpace(rest)
	if i := strings.IndexByte(rest, '>'); strings.HasPrefix(rest, "<") && i > 0 {
		return rest[1:i]
	}
	return strings.Fields(rest + " ")[0]
}

// String describes the message for test failures.
func (m Message) String() string {
	return fmt.Sprintf("from %s to %v: %s\n%s", m.From, m.To, m.Subject, m.Body)
}
