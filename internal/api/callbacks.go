package api

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/omni-retail/omni/internal/webhooks"
)

// verifyCallback checks a callback from one of the retailer's systems (the
// carrier, the payment provider): no API key, but a Standard Webhooks
// signature under secret (in the whsec_ form; empty refuses every
// callback), checked against the raw body before it is read as JSON. On
// success the body is put back for bind. who and setting name the sender
// and the secret's key in the refusal (401 bad_signature).
func verifyCallback(c echo.Context, secret, who, setting string) error {
	req := c.Request()
	if req.ContentLength > MaxBodyBytes {
		return tooLarge()
	}
	raw, err := io.ReadAll(http.MaxBytesReader(c.Response(), req.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge()
		}
		return newBadRequest("unreadable_body", "the request body could not be read")
	}
	if secret == "" {
		return &badRequest{code: "bad_signature", status: http.StatusUnauthorized,
			detail: who + " callbacks are not configured (" + setting + ")"}
	}
	if err := webhooks.Verify(secret, req.Header, raw, time.Now(), webhooks.DefaultTolerance); err != nil {
		return &badRequest{code: "bad_signature", status: http.StatusUnauthorized,
			detail: "the callback is not signed with " + setting + " (Standard Webhooks: webhook-id, " +
				"webhook-timestamp within 5 minutes, webhook-signature)"}
	}
	req.Body = io.NopCloser(bytes.NewReader(raw))
	return nil
}
