package postgres

import (
	"bytes"
	"context"
	"crypto/rand"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/omni-retail/omni/internal/order"
)

// RequestOutcome is the answer to a request, as it was sent.
type RequestOutcome struct {
	StatusCode  int
	ContentType string
	Body        []byte
}

// RequestClaim is what ClaimRequest found, or took, for a caller's
// Idempotency-Key.
type RequestClaim struct {
	// Outcome is the stored answer of an earlier request with the same key and
	// body; nil when this request now holds the key and must run.
	Outcome *RequestOutcome
	// Lease names the hold this request has on the key, for MarkRequestSent and
	// ReleaseRequest.
	Lease string
	// Retry is true when an earlier request with the key ended without an
	// answer (a timeout, an outage, a process that died).
	Retry bool
	// Sent is true when such an earlier request reached the order's workflow.
	Sent bool
}

// ClaimRequest takes the caller's key for one request for lease, or finds
// what an earlier request with the key was answered. The key with another
// request hash is refused (idempotency_key_reused); while another request
// holds a live lease on it, it is refused as a conflict (request_in_progress).
func (db *DB) ClaimRequest(ctx context.Context, caller, key string, requestHash []byte, orderID string,
	lease time.Duration,
) (RequestClaim, error) {
	claim := RequestClaim{Lease: rand.Text()}
	// A new key, the common case, takes one statement.
	tag, err := db.pool.Exec(ctx, `insert into request_keys (caller, key, request_hash, order_id, lease_token, leased_until)
		values ($1, $2, $3, $4, $5, now() + $6::interval) on conflict (caller, key) do nothing`,
		caller, key, requestHash, orderID, claim.Lease, lease)
	if err != nil {
		return RequestClaim{}, translate(err)
	}
	if tag.RowsAffected() == 1 {
		return claim, nil
	}
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var storedHash []byte
		var out RequestOutcome
		var status *int
		var contentType *string
		var leased bool
		if err := tx.QueryRow(ctx, `select request_hash, status_code, content_type, response,
			coalesce(leased_until > now(), false), sent
			from request_keys where caller = $1 and key = $2 for update`, caller, key).
			Scan(&storedHash, &status, &contentType, &out.Body, &leased, &claim.Sent); err != nil {
			return err
		}
		switch {
		case !bytes.Equal(storedHash, requestHash):
			return order.Errorf(order.KindInvalid, "idempotency_key_reused",
				"this Idempotency-Key was already used with a different request")
		case status != nil:
			out.StatusCode = *status
			if contentType != nil {
				out.ContentType = *contentType
			}
			claim.Outcome = &out
			return nil
		case leased:
			return order.Errorf(order.KindConflict, "request_in_progress",
				"a request with this Idempotency-Key is still being processed; retry shortly")
		}
		claim.Retry = true
		_, err := tx.Exec(ctx, `update request_keys set lease_token = $3, leased_until = now() + $4::interval,
			updated_at = now() where caller = $1 and key = $2`, caller, key, claim.Lease, lease)
		return err
	})
	if err != nil {
		return RequestClaim{}, translate(err)
	}
	if claim.Outcome != nil {
		claim.Lease = ""
	}
	return claim, nil
}

// MarkRequestSent records that the request holding lease is about to reach
// the order's workflow, so that a retry after it goes straight there.
func (db *DB) MarkRequestSent(ctx context.Context, caller, key, lease string) error {
	_, err := db.pool.Exec(ctx, `update request_keys set sent = true, updated_at = now()
		where caller = $1 and key = $2 and lease_token = $3`, caller, key, lease)
	return translate(err)
}

// FinishRequest stores the answer to the caller's key and lets go of it. The
// first answer stored stays; a request whose lease lapsed while it ran may
// still store its answer, which is the same: both asked the workflow under
// one Update ID.
func (db *DB) FinishRequest(ctx context.Context, caller, key string, out RequestOutcome) error {
	_, err := db.pool.Exec(ctx, `update request_keys set status_code = $3, content_type = $4, response = $5,
		lease_token = null, leased_until = null, updated_at = now()
		where caller = $1 and key = $2 and status_code is null`,
		caller, key, out.StatusCode, out.ContentType, out.Body)
	return translate(err)
}

// ReleaseRequest lets go of the key without an answer (a timeout, an outage),
// so that the next retry runs at once rather than waiting for the lease.
func (db *DB) ReleaseRequest(ctx context.Context, caller, key, lease string) error {
	_, err := db.pool.Exec(ctx, `update request_keys set lease_token = null, leased_until = null, updated_at = now()
		where caller = $1 and key = $2 and lease_token = $3`, caller, key, lease)
	return translate(err)
}

// RequestRecorded reports whether the caller's key stands for a request about
// the order that was answered or reached the order's workflow.
func (db *DB) RequestRecorded(ctx context.Context, caller, key, orderID string) (bool, error) {
	var ok bool
	err := db.pool.QueryRow(ctx, `select exists (select 1 from request_keys where caller = $1 and key = $2
		and order_id = $3 and (status_code is not null or sent))`, caller, key, orderID).Scan(&ok)
	return ok, translate(err)
}
