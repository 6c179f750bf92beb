// Package health holds SpO₂'s vocabulary for the health of one watched URL:
// its probe settings, its status, the record the API and WebSocket show, and
// the state machine that turns probe outcomes into state changes.
//
// Everything here is plain data and pure functions: no I/O, no goroutines.
package health
