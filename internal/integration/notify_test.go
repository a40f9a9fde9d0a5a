package integration

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/omni-retail/omni/config"
	"github.com/omni-retail/omni/internal/app"
	"github.com/omni-retail/omni/internal/notify"
	"github.com/omni-retail/omni/internal/notify/smtptest"
)

const smsSecret = "it-sms-signing-secret"

// smsRequest is one call the SMS provider's webhook received.
type smsRequest struct {
	payload   notify.WebhookPayload
	signature string
	body      []byte
}

// startNotifyingOmni starts a third Omni on the shared Temporal and database,
// with its own task queue, that sends email to a test SMTP server and SMS to
// a test webhook.
func startNotifyingOmni(t *testing.T) (*api, *smtptest.Server, <-chan smsRequest) {
	t.Helper()
	mail := smtptest.Start(t)
	sms := make(chan smsRequest, 16)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var p notify.WebhookPayload
		if err := json.Unmarshal(body, &p); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		sms <- smsRequest{payload: p, signature: r.Header.Get(notify.SignatureHeader), body: body}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(hook.Close)

	cfg := testConfig(t.TempDir(), "127.0.0.1:0", "")
	cfg.Temporal.Address = omni.TemporalAddr()
	cfg.Temporal.TaskQueue = "omni-it-notify"
	cfg.Notify = config.Notify{
		PublicURL: "https://shop.example",
		SMTP:      config.SMTP{Addr: mail.Addr, From: "Omni Shop <orders@shop.example>"},
		SMS:       config.Webhook{WebhookURL: hook.URL + "/sms", Secret: smsSecret},
	}
	a, err := app.Start(context.Background(), cfg, app.Parts{API: true, Worker: true}, testLogger())
	require.NoError(t, err, "start the notifying omni")
	t.Cleanup(a.Stop)
	return &api{t: t, base: "http://" + a.APIAddr()}, mail, sms
}

var orderLink = regexp.MustCompile(`https://shop\.example/o/(ct1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)`)

type notificationView struct {
	Key       string `json:"key"`
	Template  string `json:"template"`
	Channel   string `json:"channel"`
	Recipient string `json:"recipient"`
	Status    string `json:"status"`
	Error     string `json:"error"`
	At        string `json:"at"`
}

func (c *api) notifications(id string, headers ...string) []notificationView {
	c.t.Helper()
	r := c.do(http.MethodGet, "/v1/orders/"+id+"/notifications", nil, headers...)
	require.Equal(c.t, http.StatusOK, r.Status, "notifications: %s", r.Body)
	var body struct {
		Notifications []notificationView `json:"notifications"`
	}
	require.NoError(c.t, json.Unmarshal(r.Body, &body))
	return body.Notifications
}

// placeReady places an order for customer and picks it, so that the
// customer is told it is ready.
func (c *api) placeReady(customer map[string]any) (id, number, code string) {
	c.t.Helper()
	sku := unique("SKU")
	c.setStock(store, sku, 5)
	body := orderBody("", store, line(sku, 1, 1250))
	body["customer"] = customer
	id = c.place(body)
	c.waitStatus(id, "awaiting_pick")
	c.pickOK(store, id, qty(sku, 1))
	o := c.order(id)
	require.Equal(c.t, "ready_for_collection", o.Status)
	return id, o.Number, o.Pickup.Code
}

func TestNotifications(t *testing.T) {
	t.Parallel()
	c, mail, sms := startNotifyingOmni(t)
	support := []string{"Authorization", "Bearer " + supportKey}

	// Email (the default channel): the mail server refuses the first try;
	// the activity retries and the ready email reaches the server.
	email := unique("ada") + "@example.com"
	mail.RefuseNext(1)
	id, number, code := c.placeReady(map[string]any{"email": email, "name": "Ada Lovelace"})
	ready, ok := mail.Wait(20*time.Second, func(m smtptest.Message) bool {
		return len(m.To) == 1 && m.To[0] == email
	})
	require.True(t, ok, "the ready email reached the SMTP server")
	require.Equal(t, "orders@shop.example", ready.From)
	require.Equal(t, "Your order "+number+" is ready to collect", ready.Subject)
	require.Contains(t, ready.Body, "Hello Ada Lovelace,")
	require.Contains(t, ready.Body, "Your pickup code: "+code)
	require.Contains(t, ready.Body, "London Oxford Street", "stores are named")
	link := orderLink.FindStringSubmatch(ready.Body)
	require.NotNil(t, link, "the email links to the customer's order page: %s", ready.Body)

	// The link's token is a customer token that opens this order.
	r := c.do(http.MethodGet, "/v1/orders/"+id, nil, "Authorization", "Bearer "+link[1])
	require.Equal(t, http.StatusOK, r.Status, "the link's token opens the order: %s", r.Body)
	require.Equal(t, code, r.json(t)["pickup"].(map[string]any)["code"])

	// The failed attempt and the send are both visible, to the checkout that
	// placed the order and to support; store staff and other checkouts not.
	list := c.notifications(id)
	for deadline := time.Now().Add(10 * time.Second); len(list) < 2 && time.Now().Before(deadline); list = c.notifications(id) {
		time.Sleep(50 * time.Millisecond) // the send is recorded just after the server took it
	}
	require.Len(t, list, 2, "%+v", list)
	failed := c.timeline(id).find("notification_failed")
	require.Len(t, failed, 1, "the failure is on the order's timeline")
	require.Equal(t, "ready", failed[0]["template"])
	require.Contains(t, failed[0]["error"], "451")
	require.Equal(t, "failed", list[0].Status)
	require.Contains(t, list[0].Error, "451")
	require.Equal(t, "sent", list[1].Status)
	require.Equal(t, list[0].Key, list[1].Key, "the retry is the same notification")
	for _, n := range list {
		require.Equal(t, "ready", n.Template)
		require.Equal(t, "email", n.Channel)
		require.Equal(t, email, n.Recipient)
	}
	require.Equal(t, list, c.notifications(id, support...))
	require.NotContains(t, string(c.do(http.MethodGet, "/v1/orders/"+id+"/notifications", nil, support...).Body), code,
		"support never sees the pickup code")
	problem(t, c.do(http.MethodGet, "/v1/orders/"+id+"/notifications", nil, "Authorization", "Bearer "+store1Key), http.StatusForbidden)
	problem(t, c.do(http.MethodGet, "/v1/orders/"+id+"/notifications", nil, "Authorization", "Bearer "+otherCheckoutKey), http.StatusNotFound)

	// Support resends the last notification; store staff and the checkout may not.
	resend := "/v1/orders/" + id + "/notifications/resend"
	require.Equal(t, "forbidden", problem(t, c.do(http.MethodPost, resend, nil, "Authorization", "Bearer "+store1Key), http.StatusForbidden))
	require.Equal(t, "forbidden", problem(t, c.do(http.MethodPost, resend, nil), http.StatusForbidden))
	r = c.do(http.MethodPost, resend, nil, support...)
	require.Equal(t, http.StatusAccepted, r.Status, "resend: %s", r.Body)
	var again notificationView
	require.NoError(t, json.Unmarshal(r.Body, &again))
	require.Equal(t, list[1].Key+"/resend/1", again.Key)
	require.Equal(t, "sent", again.Status)
	require.Equal(t, "ready", again.Template)
	msgs := 0
	for _, m := range mail.Messages() {
		if len(m.To) == 1 && m.To[0] == email {
			msgs++
			require.Contains(t, m.Body, "Your pickup code: "+code)
		}
	}
	require.Equal(t, 2, msgs, "the ready email, then its resend")

	// A resend the provider refuses answers 502 and shows in the list.
	mail.RefuseNext(1)
	require.Equal(t, "notification_failed", problem(t, c.do(http.MethodPost, resend, nil, support...), http.StatusBadGateway))
	list = c.notifications(id, support...)
	last := list[len(list)-1]
	require.Equal(t, "failed", last.Status)
	require.Equal(t, list[1].Key+"/resend/2", last.Key)
	r = c.do(http.MethodPost, resend, nil, support...)
	require.Equal(t, http.StatusAccepted, r.Status, "resend: %s", r.Body)
	require.Contains(t, string(r.Body), `/resend/3"`)

	// An order not yet notified has nothing to resend.
	sku := unique("SKU")
	c.setStock(store, sku, 1)
	quiet := c.place(orderBody("", store, line(sku, 1, 100)))
	c.waitStatus(quiet, "awaiting_pick")
	require.Equal(t, "no_notifications", problem(t, c.do(http.MethodPost, "/v1/orders/"+quiet+"/notifications/resend", nil, support...), http.StatusNotFound))
	require.Empty(t, c.notifications(quiet))

	// SMS preference, in French: the SMS provider's webhook gets it, signed.
	phone := "+33612345678"
	id, number, code = c.placeReady(map[string]any{"email": unique("zoe") + "@example.fr", "phone": phone,
		"notify": "sms", "language": "fr-FR"})
	var got smsRequest
	select {
	case got = <-sms:
	case <-time.After(20 * time.Second):
		t.Fatal("the SMS webhook was not called")
	}
	p := got.payload
	require.Equal(t, "sms", p.Channel)
	require.Equal(t, phone, p.To)
	require.Equal(t, id, p.OrderID)
	require.Equal(t, "ready", p.Template)
	require.Equal(t, "fr", p.Language)
	require.Equal(t, "Votre commande "+number+" est prête à être retirée", p.Subject)
	require.Contains(t, p.Body, "Votre code de retrait : "+code)
	require.Regexp(t, orderLink, p.Link)
	ts, ok := strings.CutPrefix(strings.Split(got.signature, ",")[0], "t=")
	require.True(t, ok, "signature %q", got.signature)
	unix, err := strconv.ParseInt(ts, 10, 64)
	require.NoError(t, err)
	require.True(t, hmac.Equal([]byte(got.signature), []byte(notify.Sign(smsSecret, time.Unix(unix, 0), got.body))),
		"the webhook request is signed with the configured secret")
	list = c.notifications(id)
	require.Len(t, list, 1)
	require.Equal(t, notificationView{Key: list[0].Key, Template: "ready", Channel: "sms", Recipient: phone, Status: "sent", At: list[0].At}, list[0])
}
