package health

import (
	"encoding/json"
	"time"
)

// ErrorKind classifies why a URL gave no HTTP answer.
type ErrorKind string

// The kinds of unreachable outcome. Each probe error message contains its
// kind's word ("connection refused", "timeout after 5s", …).
const (
	KindNone     ErrorKind = ""
	KindRefused  ErrorKind = "refused"
	KindTimeout  ErrorKind = "timeout"
	KindDNS      ErrorKind = "dns"
	KindTLS      ErrorKind = "tls"
	KindReset    ErrorKind = "reset"
	KindProtocol ErrorKind = "protocol"
	KindOther    ErrorKind = "other"
)

// Status is the latest known health of one URL. Since is when State began;
// CheckedAt is the last probe (nil before the first).
type Status struct {
	State     State      `json:"state"`
	Code      int        `json:"code"`
	Error     string     `json:"error"`
	ErrorKind ErrorKind  `json:"error_kind"`
	LatencyMS float64    `json:"latency_ms"`
	CheckedAt *time.Time `json:"checked_at"`
	Since     time.Time  `json:"since"`
}

// Registration is what a client registered for one URL: everything that is
// durably stored and acknowledged.
type Registration struct {
	URL       string          `json:"url"`
	Data      json.RawMessage `json:"data"`
	Probe     Settings        `json:"probe"`
	Labels    Labels          `json:"labels,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
	// Lease is nil without a lease (see Leased, TTL and ExpiresAt).
	Lease *Lease `json:"-"`
	// Paused URLs are not probed; their state is Paused.
	Paused bool `json:"-"`
}

// Record is a registration with its current status, as the API and the
// WebSocket stream show it. Silenced tells whether an active silence covers
// the URL (its changes are not announced on Slack meanwhile).
type Record struct {
	URL       string          `json:"url"`
	Data      json.RawMessage `json:"data"`
	Probe     Settings        `json:"probe"`
	Labels    Labels          `json:"labels"`
	ExpiresAt *time.Time      `json:"expires_at"` // nil without a lease
	Silenced  bool            `json:"silenced"`
	Uptime    Uptime          `json:"uptime"` // zero (null) until the read model computes it
	Status    Status          `json:"status"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// NewRecord joins a registration and a status.
func NewRecord(r *Registration, s *Status) Record {
	rec := Record{URL: r.URL, Data: r.Data, Probe: r.Probe, Labels: r.Labels, Status: *s,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if r.Leased() {
		rec.ExpiresAt = &r.Lease.ExpiresAt
	}
	return rec
}
