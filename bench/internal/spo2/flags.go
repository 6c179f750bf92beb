package spo2

import (
	"flag"
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

// UnlessGiven returns a function that runs apply only when the command line
// did not set the flag name: a mode such as -quick changes defaults, never
// what the user asked for. Call it after flag.Parse.
func UnlessGiven() func(name string, apply func()) {
	given := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { given[f.Name] = true })
	return func(name string, apply func()) {
		if !given[name] {
			apply()
		}
	}
}
