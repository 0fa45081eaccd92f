// Package redact removes secrets from what the gateway logs and reports.
//
// Webhook URLs (Slack, Microsoft Teams, Discord, PagerDuty…) carry their
// credential in the path or the query, and store URLs carry a password in
// the user information: none of these parts may reach a log line, an error
// message or a metric. Every site that logs or reports a URL, or an error
// that may hold one, goes through this package.
package redact

import (
	"errors"
	"net/url"
	"strings"
)

// Mark replaces a secret in the text it is removed from.
const Mark = "[redacted]"

// URL returns raw with everything that may hold a credential replaced by
// [Mark]: the user information, the path, the query and the fragment. The
// scheme and host remain, so that the log still tells which service was
// called: "https://hooks.slack.com/[redacted]". A string that does not
// parse as a URL with a host is replaced whole.
func URL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return Mark
	}
	out := u.Scheme + "://"
	if u.User != nil {
		out += Mark + "@"
	}
	out += u.Host
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		out += "/" + Mark
	}
	return out
}

// Error returns the message of err with every URL that err carries (in a
// [url.Error], as the HTTP client and url.Parse return) redacted with
// [URL], and every one of secrets replaced by [Mark].
func Error(err error, secrets ...string) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	for e := err; e != nil; {
		var ue *url.Error
		if !errors.As(e, &ue) {
			break
		}
		if ue.URL != "" {
			msg = strings.ReplaceAll(msg, ue.URL, URL(ue.URL))
		}
		e = ue.Err
	}
	return String(msg, secrets...)
}

// String returns s with every non-empty one of secrets, and any URL form
// of it, replaced by [Mark].
func String(s string, secrets ...string) string {
	for _, sec := range secrets {
		if sec == "" {
			continue
		}
		s = strings.ReplaceAll(s, sec, Mark)
		if q := url.QueryEscape(sec); q != sec {
			s = strings.ReplaceAll(s, q, Mark)
		}
		if p := url.PathEscape(sec); p != sec {
			s = strings.ReplaceAll(s, p, Mark)
		}
	}
	return s
}
