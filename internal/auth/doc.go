// Package auth says who is calling Omni and what they may do: API keys of
// configured clients (checkout services, store staff, the contact centre,
// administrators), each with one role, and short-lived signed customer
// tokens that open one order. Access is denied unless a rule allows it.
package auth
