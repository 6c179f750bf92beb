package spo2

import (
	"fmt"
	"strings"
)

// EnvFlag is a repeatable command-line flag of KEY=VALUE pairs: extra
// environment for the spo2 a harness starts (flag.Var(&env, "env", …)).
type EnvFlag []string

// String lists the pairs, comma-separated.
func (e *EnvFlag) String() string { return strings.Join(*e, ",") }

// Set adds one KEY=VALUE pair; a value without "=" is an error.
func (e *EnvFlag) Set(v string) error {
	if !strings.Contains(v, "=") {
		return fmt.Errorf("want KEY=VALUE, got %q", v)
	}
	*e = append(*e, v)
	return nil
}
