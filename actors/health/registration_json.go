package health

import "encoding/json"

// registrationFields is Registration without its JSON methods.
type registrationFields Registration

// storedRegistration is the JSON form of a Registration: its fields, plus
// whether the timeout was derived (not given), which the API's record does
// not show. A registration stored before the flag existed has none and
// reads as an explicit timeout, the settings it was probed with.
type storedRegistration struct {
	registrationFields
	TimeoutDerived bool `json:"timeout_derived,omitempty"`
}

// MarshalJSON writes the registration as it is stored, custom data byte for
// byte (no HTML escaping).
func (r Registration) MarshalJSON() ([]byte, error) {
	return MarshalJSON(storedRegistration{registrationFields(r), r.Probe.TimeoutDerived})
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
	return nil
}
