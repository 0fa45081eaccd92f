package forgeproof

import (
	"strings"
)

// A FieldError is one invalid field of a [Config], as reported by [New].
type FieldError struct {
	// Field is the path of the field in Config, such as "HeaderName",
	// "TrustedOrigins[2]" or "Routes[1].Pattern"; "" when the problem is
	// not about one field.
	Field string

	// Msg says what is wrong, quoting the value unless it may be secret.
	Msg string

	// Hint says what to write instead; it may be "".
	Hint string
}

// Error returns "forgeproof: FIELD: MSG; HINT".
func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString("forgeproof: ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Hint != "" {
		b.WriteString("; ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// A ConfigError is returned by [New] for a Config with invalid fields. It
// lists every one of them, so that a tool reading its own configuration
// file can point at each (see [FieldError.Field]); use [errors.As] to reach
// it.
type ConfigError struct {
	Errors []*FieldError
}

// Error returns the errors, one per line.
func (e *ConfigError) Error() string {
	var b strings.Builder
	for i, fe := range e.Errors {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(fe.Error())
	}
	return b.String()
}

// Unwrap returns the field errors, for [errors.Is] and [errors.As].
func (e *ConfigError) Unwrap() []error {
	errs := make([]error, len(e.Errors))
	for i, fe := range e.Errors {
		errs[i] = fe
	}
	return errs
}

// configError returns the *ConfigError that holds errs (field errors, or
// plain errors of the form "forgeproof: Field ...: message; hint"), or
// nil when errs is empty.
func configError(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	ce := &ConfigError{}
	for _, err := range errs {
		ce.add(err)
	}
	return ce
}

// add appends err to e: a *FieldError as it is, a *ConfigError or joined
// errors one by one, any other error as a FieldError without Field.
func (e *ConfigError) add(err error) {
	switch err := err.(type) {
	case *FieldError:
		e.Errors = append(e.Errors, err)
	case *ConfigError:
		e.Errors = append(e.Errors, err.Errors...)
	case interface{ Unwrap() []error }:
		for _, err := range err.Unwrap() {
			e.add(err)
		}
	default:
		e.Errors = append(e.Errors, &FieldError{Msg: strings.TrimPrefix(err.Error(), "forgeproof: ")})
	}
}
