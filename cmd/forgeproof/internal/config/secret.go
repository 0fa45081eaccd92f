package config

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// A Secret is a value that should not be written into a configuration
// file: a literal string, or a reference to an environment variable
// ({env: NAME}) or to a file ({file: PATH}). Its String, Format and
// LogValue methods never reveal the value.
type Secret struct {
	// Env names the environment variable that holds the value.
	Env string `yaml:"env"`
	// File names the file that holds the value; trailing white space
	// (a final newline) is not part of it.
	File string `yaml:"file"`

	value    string
	literal  bool
	resolved bool
}

// Literal returns a Secret whose value is written in the file.
func Literal(v string) Secret { return Secret{value: v, literal: true, resolved: true} }

// IsZero reports whether s is unset.
func (s Secret) IsZero() bool { return s.Env == "" && s.File == "" && !s.literal }

// IsLiteral reports whether the value was written in the file itself.
func (s Secret) IsLiteral() bool { return s.literal }

// Value returns the secret value; it is "" until the secret is resolved.
func (s Secret) Value() string { return s.value }

// Resolve reads the referenced environment variable or file. It is a no-op
// for a literal.
func (s *Secret) Resolve() error {
	switch {
	case s.literal:
		return nil
	case s.Env != "":
		v, ok := os.LookupEnv(s.Env)
		if !ok {
			return fmt.Errorf("environment variable %s is not set", s.Env)
		}
		if v == "" {
			return fmt.Errorf("environment variable %s is empty", s.Env)
		}
		s.value = v
	case s.File != "":
		b, err := os.ReadFile(s.File)
		if err != nil {
			return fmt.Errorf("read secret: %v", err)
		}
		v := strings.TrimRight(string(b), " \t\r\n")
		if v == "" {
			return fmt.Errorf("secret file %s is empty", s.File)
		}
		s.value = v
	}
	s.resolved = true
	return nil
}

// String describes where the value comes from, never the value.
func (s Secret) String() string {
	switch {
	case s.Env != "":
		return "{env: " + s.Env + "}"
	case s.File != "":
		return "{file: " + s.File + "}"
	case s.literal:
		return "[redacted]"
	}
	return ""
}

// LogValue implements [slog.LogValuer] without the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return "config.Secret" + s.String() }
