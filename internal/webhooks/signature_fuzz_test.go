package webhooks_test

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/omni-retail/omni/internal/webhooks"
)

// FuzzVerify: Verify never panics on any secret, headers or body, refuses
// with ErrVerification (or, for a secret that is not one, an error) — and a
// delivery Sign signed verifies within the tolerance, but not with its body,
// id or timestamp changed.
func FuzzVerify(f *testing.F) {
	f.Add("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330",
		"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", []byte(`{"test": 2432232314}`), int64(1614265330), int64(60))
	f.Add("whsec_b21uaS13ZWJob29rLXRlc3Qta2V5LTI0", "evt_ord-1_3", "1700000000",
		"v1,bm90IGl0 v1,hTFod/cKCddnxBYl24bro3MYoBDIP0GliriWv/zdhS4=", []byte(`{"seq": 3, "type": "picked", "order_id": "ord-1"}`),
		int64(1700000000), int64(-60))
	f.Add("whsec_", "", "", "", []byte(nil), int64(0), int64(0))
	f.Add("not-a-secret", "evt_a_1", "+1700000000", "v1a,xyz v2,abc", []byte(`{"seq":1}`), int64(1700000000), int64(400))
	f.Fuzz(func(t *testing.T, secret, id, ts, sig string, body []byte, unix, skew int64) {
		h := http.Header{}
		h.Set(webhooks.HeaderID, id)
		h.Set(webhooks.HeaderTimestamp, ts)
		h.Set(webhooks.HeaderSignature, sig)
		now := time.Unix(unix%253402300800, 0) // up to the year 9999
		if err := webhooks.Verify(secret, h, body, now, webhooks.DefaultTolerance); err != nil && !errors.Is(err, webhooks.ErrVerification) {
			if _, signErr := webhooks.Sign(secret, "x", now, nil); signErr == nil {
				t.Fatalf("Verify refused a delivery with %v, want ErrVerification", err)
			}
		}

		// The round trip: a delivery signed now verifies within the tolerance.
		key := []byte(secret)
		if len(key) == 0 || id == "" {
			return
		}
		signing := webhooks.SecretPrefix + base64.StdEncoding.EncodeToString(key)
		at := now
		signature, err := webhooks.Sign(signing, id, at, body)
		if err != nil {
			t.Fatalf("Sign: %v", err)
		}
		h.Set(webhooks.HeaderTimestamp, strconv.FormatInt(at.Unix(), 10))
		h.Set(webhooks.HeaderSignature, signature)
		tolerance := int64(webhooks.DefaultTolerance / time.Second)
		received := at.Add(time.Duration(skew%(tolerance+1)) * time.Second)
		if err := webhooks.Verify(signing, h, body, received, webhooks.DefaultTolerance); err != nil {
			t.Fatalf("a signed delivery (id %q, at %d, received %s later) does not verify: %v", id, at.Unix(), received.Sub(at), err)
		}
		if err := webhooks.Verify(signing, h, append(body[:len(body):len(body)], '!'), received, webhooks.DefaultTolerance); !errors.Is(err, webhooks.ErrVerification) {
			t.Fatalf("a delivery with its body changed verifies: %v", err)
		}
		h.Set(webhooks.HeaderID, id+"x")
		if err := webhooks.Verify(signing, h, body, received, webhooks.DefaultTolerance); !errors.Is(err, webhooks.ErrVerification) {
			t.Fatalf("a delivery with its id changed verifies: %v", err)
		}
		h.Set(webhooks.HeaderID, id)
		h.Set(webhooks.HeaderTimestamp, strconv.FormatInt(at.Unix()+1, 10))
		if err := webhooks.Verify(signing, h, body, received, webhooks.DefaultTolerance); !errors.Is(err, webhooks.ErrVerification) {
			t.Fatalf("a delivery with its timestamp changed verifies: %v", err)
		}
	})
}
