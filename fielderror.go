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
// errors one by one, any other error as a FieldError whose Field is read
// from its text.
func (e *ConfigError) add(err error) {
	switch err := err.(type) {
	case *FieldError:
		e.Errors = append(e.Errors, err)
		return
	case *ConfigError:
		e.Errors = append(e.Errors, err.Errors...)
		return
	case interface{ Unwrap() []error }:
		for _, err := range err.Unwrap() {
			e.add(err)
		}
		return
	}
	e.Errors = append(e.Errors, fieldErrorOf(err.Error()))
}

// routeFields are the fields of Route, as named in error texts.
var routeFields = []string{"Pattern", "Tokens", "OneTimeTokens", "RequireHeader", "JSONOnly",
	"CheckSafeMethods", "ReportOnly", "ReauthMaxAge", "InsecureBypass"}

// fieldErrorOf reads a FieldError from the text of an error written as
// "forgeproof: Field[i] ... message; hint", as the token and route layers
// report their fields: "Routes[1] pattern "x": msg" names Routes[1].Pattern,
// "Routes[1] ("x") RequireHeader "y" is …" names Routes[1].RequireHeader.
func fieldErrorOf(s string) *FieldError {
	s = strings.TrimPrefix(s, "forgeproof: ")
	fe := &FieldError{}
	i := 0
	for i < len(s) && (isAlpha(s[i]) || isDigit(s[i]) || (i > 0 && s[i] == '[') || s[i] == ']') {
		if s[i] == '[' {
			j := strings.IndexByte(s[i:], ']')
			if j < 0 {
				break
			}
			i += j
		}
		i++
	}
	if i > 0 && 'A' <= s[0] && s[0] <= 'Z' {
		fe.Field, s = s[:i], strings.TrimLeft(s[i:], " :")
		if strings.HasPrefix(fe.Field, "Routes[") {
			fe.Field, s = routeField(fe.Field, s)
		}
	}
	if fe.Field != "" && !strings.HasPrefix(s, "\"") && !strings.HasSuffix(fe.Field, "]") {
		// "Tokens is 9, not a TokenMode", "Keys holds no key": keep the
		// name as the subject of the sentence.
		s = fe.Field[strings.LastIndexByte(fe.Field, '.')+1:] + " " + s
	}
	fe.Msg, fe.Hint, _ = strings.Cut(s, "; ")
	return fe
}

// routeField refines the field "Routes[i]" of an error text with the
// Route field that the rest of the text names first.
func routeField(field, rest string) (string, string) {
	if r, ok := strings.CutPrefix(rest, "pattern "); ok {
		return field + ".Pattern", r
	}
	if rest != "" && rest[0] == '(' {
		// Skip the quoted pattern: ("/a/") Tokens is 7 ...
		if j := strings.Index(rest, "\") "); j >= 0 {
			rest = rest[j+3:]
		}
	}
	for _, f := range routeFields {
		if r, ok := strings.CutPrefix(rest, f+" "); ok {
			return field + "." + f, r
		}
	}
	return field, rest
}
