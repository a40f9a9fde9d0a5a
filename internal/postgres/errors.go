package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/omni-retail/omni/internal/order"
)

// translate turns PostgreSQL errors into domain errors. Errors that are already
// domain errors pass through; everything else (connection loss, timeouts) is
// returned as it is, for the caller to retry.
func translate(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := order.AsError(err); ok {
		return err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23503":
			return &order.Error{Kind: order.KindNotFound, Code: "foreign_key", Detail: pgErr.Detail}
		case "23514":
			return &order.Error{Kind: order.KindConflict, Code: "check_violation", Detail: pgErr.ConstraintName}
		case "23505":
			return &order.Error{Kind: order.KindConflict, Code: "duplicate", Detail: pgErr.ConstraintName}
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return err
}

func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }
