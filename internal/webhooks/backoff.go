package webhooks

import "time"

// Backoff is how long to wait after failed attempt number attempt (1 for the
// first) before the next: initial, doubling with each attempt, at most maxBackoff,
// less a jitter of up to a quarter drawn from random (a number in [0, 1)) so
// that deliveries that failed together spread out.
func Backoff(attempt int, initial, maxBackoff time.Duration, random func() float64) time.Duration {
	d := initial
	for i := 1; i < attempt && d < maxBackoff; i++ {
		d *= 2
	}
	d = min(d, maxBackoff)
	if random != nil {
		d -= time.Duration(float64(d/4) * random())
	}
	return d
}
