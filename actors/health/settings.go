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
