// Package app wires Omni's parts together for each way of running it: the
// embedded default (`omni dev`), the API alone (`omni serve`), the workers
// alone (`omni worker`) and the migrations (`omni migrate`).
package app
