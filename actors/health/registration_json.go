package health

import (
	"encoding/json"
	"fmt"
	"time"
)

// registrationFields is Registration without its JSON methods. Labels are
// stored only when there are some; a registration stored before labels
// existed reads as having none. A lease (ttl, expires_at) and paused are
// stored only when set; older registrations read as unleased and running.
type registrationFields Registration

// storedRegistration is the JSON form of a Registration: its fields, plus
// whether the timeout was derived (not given), which the API's record does
// not show. A registration stored before the flag existed has none and
// reads as an explicit timeout, the settings it was probed with.
type storedRegistration struct {
	registrationFields
	TimeoutDerived bool       `json:"timeout_derived,omitempty"`
	TTL            string     `json:"ttl,omitempty"`
	ExpiresAt      *time.Time `json:"expires_at,omitempty"`
	Paused         bool       `json:"paused,omitempty"`
}

// MarshalJSON writes the registration as it is stored, custom data byte for
// byte (no HTML escaping).
func (r Registration) MarshalJSON() ([]byte, error) {
	return r.AppendJSON(nil), nil
}

// AppendJSON appends the registration as it is stored to b: the bytes
// encoding/json writes for it with HTML escaping off, custom data (compact
// JSON, as the API keeps it) byte for byte.
func (r *Registration) AppendJSON(b []byte) []byte {
	b = appendURLDataProbe(b, r.URL, r.Data, &r.Probe)
	if len(r.Labels) > 0 {
		b = append(b, `,"labels":`...)
		b = r.Labels.appendJSON(b)
	}
	b = append(b, `,"created_at":`...)
	b = AppendJSONTime(b, r.CreatedAt)
	b = append(b, `,"updated_at":`...)
	b = AppendJSONTime(b, r.UpdatedAt)
	if r.Probe.TimeoutDerived {
		b = append(b, `,"timeout_derived":true`...)
	}
	if r.Leased() {
		b = append(b, `,"ttl":`...)
		b = AppendJSONString(b, r.Lease.TTL.String())
		b = append(b, `,"expires_at":`...)
		b = AppendJSONTime(b, r.Lease.ExpiresAt)
	}
	if r.Paused {
		b = append(b, `,"paused":true`...)
	}
	return append(b, '}')
}

// UnmarshalJSON reads what MarshalJSON writes, and registrations stored
// without the timeout_derived flag.
func (r *Registration) UnmarshalJSON(b []byte) error {
	var s storedRegistration
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*r = Registration(s.registrationFields)
	r.Probe.TimeoutDerived = s.TimeoutDerived
	r.Paused = s.Paused
	if s.TTL != "" {
		ttl, err := time.ParseDuration(s.TTL)
		if err != nil {
			return fmt.Errorf("ttl: %w", err)
		}
		if ttl > 0 { // as a TTL of 0 always meant: no lease
			r.Lease = &Lease{TTL: ttl}
			if s.ExpiresAt != nil {
				r.Lease.ExpiresAt = *s.ExpiresAt
			}
		}
	}
	return nil
}
