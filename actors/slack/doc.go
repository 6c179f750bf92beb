// Package slack holds the parts of SpO₂'s Slack alerts that decide nothing:
// the messages and how they read (render.go), the backlog of changes waiting
// for Slack and its folding (backlog.go), the batch window (window.go), the
// record of an open mass failure (incident.go), the webhook poster with its
// retries (webhook.go), and the last state announced per URL (announced.go).
// When to send what (batches, windows, mass failures) is decided by the Slack
// batcher actor in package actors; docs/slack.md describes the behaviour.
package slack
