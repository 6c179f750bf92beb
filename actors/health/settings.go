package health

import (
	"encoding/json"
	"fmt"
	"time"
)

// Limits on probe settings, enforced by Settings.Validate.
const (
	MinInterval  = time.Second
	MaxInterval  = 24 * time.Hour
	MinThreshold = 1
	MaxThreshold = 100
)

// Settings are the probe settings of one URL. Durations travel in JSON as Go
// duration strings ("10s").
type Settings struct {
	Interval         time.Duration
	Timeout          time.Duration
	FailureThreshold int
	SuccessThreshold int
	Expect           Expect
	// TimeoutDerived is set when no timeout was given. On a URL's settings it
	// means the timeout follows the defaults (see Overrides.Resolve), so it is
	// derived again when the interval changes; an explicit timeout is kept.
	// On the defaults it means no default timeout was configured: Timeout is
	// then the built-in one, capped to half of each URL's interval (see
	// TimeoutFor). It is not part of the JSON form of Settings; a
	// Registration stores it.
	TimeoutDerived bool
}

// TimeoutFor returns the timeout of a URL probed every interval that gives
// no timeout of its own, when d are the defaults. A configured default
// timeout (TimeoutDerived false) is used as it is while it stays below the
// interval, and capped to half the interval otherwise; the built-in one is
// always capped to half the interval. So a URL that gives no timeout never
// gets one its interval refuses.
func (d Settings) TimeoutFor(interval time.Duration) time.Duration {
	if !d.TimeoutDerived && d.Timeout < interval {
		return d.Timeout
	}
	return min(d.Timeout, interval/2)
}

// Effective returns the defaults d as a URL that gives no setting gets them:
// the timeout resolved for d's own interval.
func (d Settings) Effective() Settings {
	d.Timeout = d.TimeoutFor(d.Interval)
	return d
}

// Validate reports the first setting out of range, naming it.
func (s Settings) Validate() error {
	switch {
	case s.Interval < MinInterval || s.Interval > MaxInterval:
		return fmt.Errorf("interval %s is outside %s-%s", s.Interval, MinInterval, MaxInterval)
	case s.Timeout <= 0:
		return fmt.Errorf("timeout %s must be positive", s.Timeout)
	case s.Timeout >= s.Interval:
		return fmt.Errorf("timeout %s must be below interval %s", s.Timeout, s.Interval)
	case s.FailureThreshold < MinThreshold || s.FailureThreshold > MaxThreshold:
		return fmt.Errorf("failure_threshold %d is outside %d-%d", s.FailureThreshold, MinThreshold, MaxThreshold)
	case s.SuccessThreshold < MinThreshold || s.SuccessThreshold > MaxThreshold:
		return fmt.Errorf("success_threshold %d is outside %d-%d", s.SuccessThreshold, MinThreshold, MaxThreshold)
	case s.Expect.IsZero():
		return fmt.Errorf("expect is empty")
	}
	return nil
}

// SameSchedule reports whether s and o probe identically, so that a running
// checker can keep its timer.
func (s Settings) SameSchedule(o Settings) bool {
	return s.Interval == o.Interval && s.Timeout == o.Timeout &&
		s.FailureThreshold == o.FailureThreshold && s.SuccessThreshold == o.SuccessThreshold &&
		s.Expect.String() == o.Expect.String()
}

// Equal reports whether s and o are the same settings, whether the timeout
// was given included.
func (s Settings) Equal(o Settings) bool {
	return s.SameSchedule(o) && s.TimeoutDerived == o.TimeoutDerived
}

// Overrides are optional per-URL settings; nil fields keep the base value.
type Overrides struct {
	Interval         *time.Duration
	Timeout          *time.Duration
	FailureThreshold *int
	SuccessThreshold *int
	Expect           *Expect
}

// Apply returns base with every set override applied.
func (o Overrides) Apply(base Settings) Settings {
	if o.Interval != nil {
		base.Interval = *o.Interval
	}
	if o.Timeout != nil {
		base.Timeout = *o.Timeout
	}
	if o.FailureThreshold != nil {
		base.FailureThreshold = *o.FailureThreshold
	}
	if o.SuccessThreshold != nil {
		base.SuccessThreshold = *o.SuccessThreshold
	}
	if o.Expect != nil {
		base.Expect = *o.Expect
	}
	return base
}

// Resolve returns a URL's settings after o is applied: prev are its current
// settings, nil for a new URL, and defaults the process's defaults. Settings
// not given keep their current value (the default's for a new URL), except a
// timeout that was never given: it follows defaults.TimeoutFor the interval,
// and is derived again when the interval changes. A given timeout is
// explicit from then on and kept through later interval changes (Validate
// then refuses it if it is no longer below the interval).
func (o Overrides) Resolve(prev *Settings, defaults Settings) Settings {
	var s Settings
	if prev == nil {
		s = defaults
		s.TimeoutDerived = true
	} else {
		s = *prev
	}
	timeout := o.Timeout
	o.Timeout = nil
	s = o.Apply(s)
	switch {
	case timeout != nil:
		s.Timeout, s.TimeoutDerived = *timeout, false
	case prev == nil || (s.TimeoutDerived && s.Interval != prev.Interval):
		s.Timeout = defaults.TimeoutFor(s.Interval)
	}
	return s
}

type settingsJSON struct {
	Interval         string `json:"interval"`
	Timeout          string `json:"timeout"`
	FailureThreshold int    `json:"failure_threshold"`
	SuccessThreshold int    `json:"success_threshold"`
	Expect           Expect `json:"expect"`
}

// MarshalJSON writes durations as strings ("10s").
func (s Settings) MarshalJSON() ([]byte, error) {
	return json.Marshal(settingsJSON{
		Interval: s.Interval.String(), Timeout: s.Timeout.String(),
		FailureThreshold: s.FailureThreshold, SuccessThreshold: s.SuccessThreshold,
		Expect: s.Expect,
	})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (s *Settings) UnmarshalJSON(b []byte) error {
	var j settingsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	iv, err := time.ParseDuration(j.Interval)
	if err != nil {
		return fmt.Errorf("interval: %w", err)
	}
	to, err := time.ParseDuration(j.Timeout)
	if err != nil {
		return fmt.Errorf("timeout: %w", err)
	}
	*s = Settings{Interval: iv, Timeout: to, FailureThreshold: j.FailureThreshold,
		SuccessThreshold: j.SuccessThreshold, Expect: j.Expect}
	return nil
}
