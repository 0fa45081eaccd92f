package forgeproof

import (
	"fmt"
	"net/http"
)

// A Reason names why a request was rejected. Reasons are stable: their
// string forms (see [Reason.String]) appear in problem+json bodies, logs,
// metric labels and scanner reports, and are never renamed. New reasons may
// be added; existing ones keep their meaning.
//
// The zero Reason is [ReasonNone]: the request was not rejected.
type Reason uint8

// The reasons for a rejection. The documentation of each gives the string
// form in quotes.
const (
	// ReasonNone ("") means the request was not rejected.
	ReasonNone Reason = iota

	// ReasonSecFetchSiteCrossSite ("sec-fetch-site-cross-site"): the browser
	// said the request came from another site.
	ReasonSecFetchSiteCrossSite
	// ReasonSecFetchSiteSameSite ("sec-fetch-site-same-site"): the browser
	// said the request came from another origin of the same site (a sibling
	// subdomain) that is not trusted.
	ReasonSecFetchSiteSameSite
	// ReasonSecFetchSiteInvalid ("sec-fetch-site-invalid"): Sec-Fetch-Site
	// carried a value outside the four that the Fetch Metadata standard
	// defines.
	ReasonSecFetchSiteInvalid
	// ReasonOriginMismatch ("origin-mismatch"): Origin named an origin that
	// is neither the request's own nor trusted.
	ReasonOriginMismatch
	// ReasonOriginNull ("origin-null"): Origin was "null", as sent by
	// sandboxed frames, data: URLs and some redirects.
	ReasonOriginNull
	// ReasonOriginMalformed ("origin-malformed"): Origin was not a
	// scheme://host[:port] serialization (it had userinfo, a path, a query,
	// or did not parse).
	ReasonOriginMalformed
	// ReasonOriginMissing ("origin-missing"): the request carried none of
	// Sec-Fetch-Site, Origin and Referer, and the configuration denies such
	// requests (see [Config.DenyMissingOrigin]).
	ReasonOriginMissing
	// ReasonRefererMissing ("referer-missing"): an HTTPS request without
	// Sec-Fetch-Site and Origin also had no Referer, and the configuration
	// denies such requests.
	ReasonRefererMissing
	// ReasonRefererMismatch ("referer-mismatch"): Referer named a page of an
	// origin that is neither the request's own nor trusted.
	ReasonRefererMismatch
	// ReasonRefererMalformed ("referer-malformed"): Referer did not parse as
	// an absolute URL.
	ReasonRefererMalformed
	// ReasonRefererInsecure ("referer-insecure"): an HTTPS request carried a
	// Referer from a plain-HTTP page.
	ReasonRefererInsecure
	// ReasonTokenMissing ("token-missing"): no anti-CSRF token was found in
	// the header or the form field.
	ReasonTokenMissing
	// ReasonTokenInvalid ("token-invalid"): the token did not decode, did not
	// match the cookie or the stored token, or its signature did not verify
	// with any key of the key ring.
	ReasonTokenInvalid
	// ReasonTokenExpired ("token-expired"): the token was genuine but older
	// than the configured maximum age.
	ReasonTokenExpired
	// ReasonTokenReused ("token-reused"): a one-time token was presented a
	// second time.
	ReasonTokenReused
	// ReasonTokenSessionMismatch ("token-session-mismatch"): the token was
	// genuine but was issued to another session.
	ReasonTokenSessionMismatch
	// ReasonCookieMissing ("cookie-missing"): a signed double-submit token was
	// presented but the token cookie was not sent.
	ReasonCookieMissing
	// ReasonContentTypeNotAllowed ("content-type-not-allowed"): a route
	// declared JSON-only received a body type that a cross-site HTML form can
	// send (or none).
	ReasonContentTypeNotAllowed
	// ReasonHeaderMissing ("header-missing"): a route that requires a custom
	// request header (such as X-Requested-With) received a request without it.
	ReasonHeaderMissing
	// ReasonBodyUnreadable ("body-unreadable"): the token had to be looked up
	// in a form body that was malformed or larger than the configured bound.
	ReasonBodyUnreadable
	// ReasonStoreUnavailable ("store-unavailable"): the token store could not
	// be reached, so the request could not be verified. Answered with 503.
	ReasonStoreUnavailable
	// ReasonReauthRequired ("reauth-required"): a route marked sensitive was
	// called without a fresh, valid re-authentication proof. Answered with
	// 401.
	ReasonReauthRequired
	// ReasonReauthReused ("reauth-reused"): a re-authentication proof was
	// presented a second time. Answered with 401.
	ReasonReauthReused
	// ReasonMethodOverrideInvalid ("method-override-invalid"): a method
	// override (a _method query parameter, or the X-HTTP-Method-Override,
	// X-HTTP-Method or X-Method-Override header or _method form field
	// where a route's method can depend on it) held a value that is not a method name, such as "+PUT",
	// "PUT;x", "PUT, DELETE" or an empty value. Frameworks disagree on what
	// such a value dispatches to.
	ReasonMethodOverrideInvalid
	// ReasonCookieConflict ("cookie-conflict"): the request carried two
	// session cookies, or two token cookies, of the same name with
	// different values, as when a sibling subdomain planted one beside the
	// genuine cookie.
	ReasonCookieConflict
	// ReasonUnauthenticated ("unauthenticated"): a route that requires a
	// role was called without a verified identity (no credential, or one
	// that did not verify). Answered with 401. The library never decides
	// it; layers built on top (the gateway's role check) report it.
	ReasonUnauthenticated
	// ReasonRoleForbidden ("role-forbidden"): a route that requires a role
	// was called by a verified identity that holds none of the roles it
	// accepts. The library never decides it; layers built on top (the
	// gateway's role check) report it.
	ReasonRoleForbidden
	// ReasonRequestInvalid ("request-invalid"): a request to an operation
	// of the API's OpenAPI description did not match it: a required
	// parameter or header was missing or malformed, or the body did not
	// match the operation's schema. Answered with 400.
	ReasonRequestInvalid
	// ReasonMediaTypeUnsupported ("media-type-unsupported"): a request body
	// had a Content-Type that the operation of the API's OpenAPI
	// description does not accept. Answered with 415.
	ReasonMediaTypeUnsupported
	// ReasonRequestTooLarge ("request-too-large"): a request body to be
	// validated against the API's OpenAPI description was larger than the
	// bound on validated bodies. Answered with 413.
	ReasonRequestTooLarge
	// ReasonOperationUnknown ("operation-unknown"): the request matched no
	// operation of the API's OpenAPI description and no configured route,
	// and unknown paths are denied. Answered with 404.
	ReasonOperationUnknown

	numReasons
)

var reasonInfo = [numReasons]struct {
	name, title string
}{
	ReasonNone:                  {"", "request allowed"},
	ReasonSecFetchSiteCrossSite: {"sec-fetch-site-cross-site", "cross-site request refused"},
	ReasonSecFetchSiteSameSite:  {"sec-fetch-site-same-site", "request from an untrusted origin of the same site refused"},
	ReasonSecFetchSiteInvalid:   {"sec-fetch-site-invalid", "Sec-Fetch-Site header has an unknown value"},
	ReasonOriginMismatch:        {"origin-mismatch", "Origin header names an untrusted origin"},
	ReasonOriginNull:            {"origin-null", "Origin header is null"},
	ReasonOriginMalformed:       {"origin-malformed", "Origin header is not a valid origin"},
	ReasonOriginMissing:         {"origin-missing", "request carries no Sec-Fetch-Site, Origin or Referer header"},
	ReasonRefererMissing:        {"referer-missing", "HTTPS request without Origin carries no Referer header"},
	ReasonRefererMismatch:       {"referer-mismatch", "Referer header names an untrusted origin"},
	ReasonRefererMalformed:      {"referer-malformed", "Referer header is not an absolute URL"},
	ReasonRefererInsecure:       {"referer-insecure", "HTTPS request has a Referer from a plain-HTTP page"},
	ReasonTokenMissing:          {"token-missing", "anti-CSRF token missing"},
	ReasonTokenInvalid:          {"token-invalid", "anti-CSRF token invalid"},
	ReasonTokenExpired:          {"token-expired", "anti-CSRF token expired"},
	ReasonTokenReused:           {"token-reused", "one-time anti-CSRF token already used"},
	ReasonTokenSessionMismatch:  {"token-session-mismatch", "anti-CSRF token belongs to another session"},
	ReasonCookieMissing:         {"cookie-missing", "anti-CSRF cookie missing"},
	ReasonContentTypeNotAllowed: {"content-type-not-allowed", "content type not allowed on this route"},
	ReasonHeaderMissing:         {"header-missing", "required request header missing"},
	ReasonBodyUnreadable:        {"body-unreadable", "request body could not be read for the anti-CSRF token"},
	ReasonStoreUnavailable:      {"store-unavailable", "token store unavailable"},
	ReasonReauthRequired:        {"reauth-required", "re-authentication required"},
	ReasonReauthReused:          {"reauth-reused", "re-authentication proof already used"},
	ReasonMethodOverrideInvalid: {"method-override-invalid", "method override is not a method name"},
	ReasonCookieConflict:        {"cookie-conflict", "conflicting cookies of the same name"},
	ReasonUnauthenticated:       {"unauthenticated", "authentication required"},
	ReasonRoleForbidden:         {"role-forbidden", "role not allowed on this route"},
	ReasonRequestInvalid:        {"request-invalid", "request does not match the API description"},
	ReasonMediaTypeUnsupported:  {"media-type-unsupported", "request body media type not accepted by the operation"},
	ReasonRequestTooLarge:       {"request-too-large", "request body too large to validate"},
	ReasonOperationUnknown:      {"operation-unknown", "no operation of the API description matches the request"},
}

// Reasons returns every reason that can reject a request, in a fixed
// order. It does not include [ReasonNone].
func Reasons() []Reason {
	rs := make([]Reason, 0, numReasons-1)
	for r := ReasonNone + 1; r < numReasons; r++ {
		rs = append(rs, r)
	}
	return rs
}

// String returns the stable name of r, such as "origin-mismatch". It
// returns "" for [ReasonNone].
func (r Reason) String() string {
	if r >= numReasons {
		return fmt.Sprintf("reason(%d)", uint8(r))
	}
	return reasonInfo[r].name
}

// Title returns a short human-readable summary of r, suitable for the title
// member of a problem+json body.
func (r Reason) Title() string {
	if r >= numReasons {
		return "request refused"
	}
	return reasonInfo[r].title
}

// Status returns the HTTP status code that a rejection for r is answered
// with: 503 for [ReasonStoreUnavailable], 401 for the re-authentication
// reasons and [ReasonUnauthenticated], 400, 415, 413 and 404 for the
// reasons of request validation ([ReasonRequestInvalid],
// [ReasonMediaTypeUnsupported], [ReasonRequestTooLarge],
// [ReasonOperationUnknown]), and 403 for all others.
func (r Reason) Status() int {
	switch r {
	case ReasonNone:
		return http.StatusOK
	case ReasonStoreUnavailable:
		return http.StatusServiceUnavailable
	case ReasonReauthRequired, ReasonReauthReused:
		return http.StatusUnauthorized
	case ReasonUnauthenticated:
		return http.StatusUnauthorized
	case ReasonRequestInvalid:
		return http.StatusBadRequest
	case ReasonMediaTypeUnsupported:
		return http.StatusUnsupportedMediaType
	case ReasonRequestTooLarge:
		return http.StatusRequestEntityTooLarge
	case ReasonOperationUnknown:
		return http.StatusNotFound
	}
	return http.StatusForbidden
}

// MarshalText implements [encoding.TextMarshaler] with the stable name.
func (r Reason) MarshalText() ([]byte, error) {
	if r >= numReasons {
		return nil, fmt.Errorf("forgeproof: unknown reason %d", uint8(r))
	}
	return []byte(r.String()), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler]; it accepts the names
// that [Reason.String] returns.
func (r *Reason) UnmarshalText(text []byte) error {
	v, ok := ParseReason(string(text))
	if !ok {
		return fmt.Errorf("forgeproof: unknown reason %q", text)
	}
	*r = v
	return nil
}

// ParseReason returns the reason whose stable name is s.
func ParseReason(s string) (Reason, bool) {
	for r := ReasonNone; r < numReasons; r++ {
		if reasonInfo[r].name == s {
			return r, true
		}
	}
	return ReasonNone, false
}
