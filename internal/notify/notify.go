package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"

	"github.com/omni-retail/omni/activities"
	"github.com/omni-retail/omni/internal/order"
	"github.com/omni-retail/omni/internal/postgres"
)

// The channels a notification goes out on. ChannelLog is email written to the
// process log because no mail server is configured.
const (
	ChannelEmail = order.NotifyEmail
	ChannelSMS   = order.NotifySMS
	ChannelPush  = order.NotifyPush
	ChannelLog   = "log"
)

// Message is a rendered notification on its way to one recipient.
type Message struct {
	// Key is the notification's idempotency key: receivers can drop repeats by it.
	Key      string
	OrderID  string
	Template string
	Language string
	Channel  string
	// To is an email address, a phone number or a push token.
	To      string
	Subject string
	Body    string
	// Link opens the customer's order page ("" when no token could be made).
	Link string
}

// Sender delivers messages on one channel. A failure that no retry can mend
// (the provider refused the message or its recipient for good) is an
// *order.Error, as Rejected makes; any other error is temporary.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Rejected is the error of a message that can never be delivered as it is:
// the provider refused it for good, or its recipient cannot be addressed. It
// keeps the provider's words in its detail. Notify returns it as a domain
// error, which makes the activity non-retryable.
func Rejected(format string, args ...any) *order.Error {
	return order.Errorf(order.KindInvalid, "notification_rejected", format, args...)
}

// permanent reports whether a send failed for good (see Sender).
func permanent(err error) (*order.Error, bool) {
	de, ok := order.AsError(err)
	return de, ok && de.Kind != order.KindUnavailable
}

// Ledger records what was sent and what failed; *postgres.DB is one.
type Ledger interface {
	NotificationSent(ctx context.Context, key string) (bool, error)
	RecordNotification(ctx context.Context, n postgres.Notification, status string) (bool, error)
	RecordNotificationFailure(ctx context.Context, n postgres.Notification, cause string) error
}

// Orders reads an order's customer and its preferences; *postgres.DB is one.
type Orders interface {
	Order(ctx context.Context, id string) (order.Order, error)
}

// Tokens signs customer tokens; *auth.Authenticator is one.
type Tokens interface {
	CustomerToken(orderID string, now time.Time) (string, time.Time)
}

// Failures counts failed attempts by channel; *metrics.Metrics is one.
type Failures interface {
	NotificationFailed(channel string)
}

// Options configures a Notifier.
type Options struct {
	Ledger Ledger
	Orders Orders
	// Tokens and PublicURL make the customer link <PublicURL>/o/<token>;
	// with either missing, messages carry no link.
	Tokens    Tokens
	PublicURL string
	// Email sends email; nil writes it to the log (channel "log").
	Email Sender
	// SMS and Push are nil when the retailer has no such provider: their
	// customers get email instead.
	SMS  Sender
	Push Sender
	// StoreNames names stores in messages (store_id → name); an unnamed
	// store is shown by its id.
	StoreNames map[string]string
	// Failures, if set, counts every failed attempt.
	Failures Failures
	Logger   *slog.Logger
	// Now is the clock that dates customer tokens (default time.Now).
	Now func() time.Time
}

// Notifier sends each notification once per key, on the customer's channel,
// in the customer's language. It implements activities.Notifier.
type Notifier struct {
	o Options
}

var _ activities.Notifier = (*Notifier)(nil)

// New builds a Notifier.
func New(o Options) *Notifier {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.PublicURL = strings.TrimRight(o.PublicURL, "/")
	return &Notifier{o: o}
}

// Notify sends n unless a notification with its key was already sent. A
// failure is recorded (it shows in the order's notification list) and
// returned: a temporary one as a plain error, for the activity to be retried;
// one that no retry can mend (see Sender) as a notification_rejected domain
// error, which Temporal does not retry.
func (s *Notifier) Notify(ctx context.Context, n activities.Notification) error {
	// Temporary errors go back flattened (%v): a domain error in the chain
	// (a store's, say) would make the activity non-retryable.
	sent, err := s.o.Ledger.NotificationSent(ctx, n.Key)
	if err != nil {
		return fmt.Errorf("notify %s: read the ledger: %v", n.Key, err)
	}
	if sent {
		return nil
	}
	m, data, err := s.compose(ctx, n)
	record := postgres.Notification{Key: n.Key, OrderID: n.OrderID, Template: n.Template,
		Channel: m.Channel, Recipient: m.To, Data: data}
	var rejected *order.Error
	if err == nil {
		if err = s.send(ctx, m); err != nil {
			rejected, _ = permanent(err)
		}
	}
	if err != nil {
		if s.o.Failures != nil {
			s.o.Failures.NotificationFailed(m.Channel)
		}
		if rerr := s.o.Ledger.RecordNotificationFailure(ctx, record, err.Error()); rerr != nil {
			s.o.Logger.Error("record failed notification", "order_id", n.OrderID, "key", n.Key, "error", rerr)
		}
		if rejected != nil {
			s.o.Logger.Warn("notification rejected; it will not be retried", "order_id", n.OrderID,
				"template", n.Template, "channel", m.Channel, "error", err)
			return Rejected("notify %s by %s: %s", n.Template, m.Channel, rejected.Detail)
		}
		s.o.Logger.Warn("notification failed; it will be retried", "order_id", n.OrderID, "template", n.Template,
			"channel", m.Channel, "error", err)
		return fmt.Errorf("notify %s by %s: %v", n.Template, m.Channel, err)
	}
	if _, err := s.o.Ledger.RecordNotification(ctx, record, "sent"); err != nil {
		// Sent but not recorded: the retry sends it again (at least once).
		return fmt.Errorf("record sent notification %s: %v", n.Key, err)
	}
	return nil
}

func (s *Notifier) send(ctx context.Context, m Message) error {
	if m.Channel != ChannelLog {
		if err := addressable(m); err != nil {
			return err
		}
	}
	switch m.Channel {
	case ChannelSMS:
		return s.o.SMS.Send(ctx, m)
	case ChannelPush:
		return s.o.Push.Send(ctx, m)
	case ChannelEmail:
		return s.o.Email.Send(ctx, m)
	}
	s.o.Logger.Info("customer notified", "order_id", m.OrderID, "template", m.Template, "channel", m.Channel,
		"recipient", m.To, "language", m.Language, "subject", m.Subject, "link", m.Link)
	return nil
}

// addressable refuses, for good, a message whose recipient no provider could
// reach: none at all, an email that is not an address, a phone number that
// is not international (E.164-like, see order.NormalPhone).
func addressable(m Message) error {
	if strings.TrimSpace(m.To) == "" {
		return Rejected("no %s recipient to send to", m.Channel)
	}
	switch m.Channel {
	case ChannelEmail:
		if _, err := mail.ParseAddress(m.To); err != nil {
			return Rejected("recipient %q is not an email address: %v", m.To, err)
		}
	case ChannelSMS:
		if _, ok := order.NormalPhone(m.To); !ok {
			return Rejected("recipient %q is not an international phone number", m.To)
		}
	}
	return nil
}

// compose routes and renders n. It also returns the template data to record:
// the workflow's, without the link (a bearer credential).
func (s *Notifier) compose(ctx context.Context, n activities.Notification) (Message, map[string]any, error) {
	data, err := normalize(n.Data)
	if err != nil {
		return Message{Channel: n.Channel, To: n.Recipient}, n.Data, err
	}
	c := order.Customer{Email: n.Recipient}
	o, err := s.o.Orders.Order(ctx, n.OrderID)
	switch {
	case err == nil:
		c = o.Customer
		if c.Email == "" {
			c.Email = n.Recipient
		}
	case isNotFound(err):
		// Not in the read model (should not happen): the workflow's recipient, in English.
		s.o.Logger.Warn("notification for an order not in the read model", "order_id", n.OrderID)
	default:
		return Message{Channel: n.Channel, To: n.Recipient}, data, err
	}
	m := Message{Key: n.Key, OrderID: n.OrderID, Template: n.Template}
	m.Channel, m.To = s.route(c)

	fields := make(map[string]any, len(data)+6)
	for k, v := range data {
		fields[k] = v
	}
	if c.Name != "" {
		fields["customer_name"] = c.Name
	}
	if _, ok := fields["currency"]; !ok && o.Currency != "" {
		fields["currency"] = o.Currency
	}
	// Products by SKU, so that messages name what people recognise
	// ({{product .sku $.products}}), not a bare SKU.
	products := make(map[string]any, len(o.Lines))
	for _, l := range o.Lines {
		products[l.SKU] = l.Label()
	}
	fields["products"] = products
	for _, prefix := range []string{"", "previous_"} {
		if id, ok := fields[prefix+"store_id"].(string); ok && id != "" {
			name := s.o.StoreNames[id]
			if name == "" {
				name = id
			}
			fields[prefix+"store_name"] = name
		}
	}
	if s.o.Tokens != nil && s.o.PublicURL != "" {
		token, _ := s.o.Tokens.CustomerToken(n.OrderID, s.o.Now())
		m.Link = s.o.PublicURL + "/o/" + token
		fields["link"] = m.Link
	}
	r, err := Render(c.Language, n.Template, fields)
	if err != nil {
		return m, data, err
	}
	m.Language, m.Subject, m.Body = r.Language, r.Subject, r.Body
	return m, data, nil
}

// route picks the customer's preferred channel when it has an address and a
// provider, else email; email without a mail server goes to the log.
func (s *Notifier) route(c order.Customer) (channel, to string) {
	switch {
	case c.Notify == ChannelSMS && c.Phone != "" && s.o.SMS != nil:
		phone, _ := order.NormalPhone(c.Phone) // as placed before numbers were normalised
		return ChannelSMS, phone
	case c.Notify == ChannelPush && c.PushToken != "" && s.o.Push != nil:
		return ChannelPush, c.PushToken
	case s.o.Email != nil:
		return ChannelEmail, c.Email
	}
	return ChannelLog, c.Email
}

// normalize gives data the shapes it has after a trip through the workflow's
// JSON (numbers as float64, times as strings, structs as maps), whichever
// process calls the notifier.
func normalize(data map[string]any) (map[string]any, error) {
	out := map[string]any{}
	if len(data) == 0 {
		return out, nil
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("notification data: %w", err)
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("notification data: %w", err)
	}
	return out, nil
}

func isNotFound(err error) bool {
	var de *order.Error
	return errors.As(err, &de) && de.Kind == order.KindNotFound
}
