package forgeproof

import "github.com/forgeproof/forgeproof/internal/problem"

// docsURL is where each reason is documented, one section per reason whose
// anchor is the reason's stable name.
const docsURL = "https://github.com/forgeproof/forgeproof/blob/main/docs/REASONS.md#"

// reasonDetail tells the client (and the developer reading the response)
// what to do about each reason. It goes in the detail member of the
// problem+json body.
var reasonDetail = [numReasons]string{
	ReasonSecFetchSiteCrossSite: "The browser reported that another site sent this request. Send it from a page of this application, or add the sending origin to TrustedOrigins if it is yours.",
	ReasonSecFetchSiteSameSite:  "The browser reported that a sibling origin of the same site sent this request. Add that origin to TrustedOrigins if it is trusted.",
	ReasonSecFetchSiteInvalid:   "Sec-Fetch-Site must be same-origin, same-site, cross-site or none. Do not set this header by hand; browsers set it.",
	ReasonOriginMismatch:        "The Origin header names an origin that this application does not trust. Send the request from the application's own origin (same scheme, host and port), or add the origin to TrustedOrigins.",
	ReasonOriginNull:            "The Origin header is null, as sent by sandboxed frames, data: URLs and cross-origin redirects. Send the request from a regular page of this application.",
	ReasonOriginMalformed:       "The Origin header must be scheme://host[:port] with no userinfo, path, query or fragment.",
	ReasonOriginMissing:         "This application requires browser provenance headers on unsafe requests. Send an Origin header naming the application's own origin.",
	ReasonRefererMissing:        "This HTTPS application requires an Origin or Referer header on unsafe requests. Check that no Referrer-Policy of no-referrer strips it, or send an Origin header.",
	ReasonRefererMismatch:       "The Referer header names a page of an origin that this application does not trust. Send the request from a page of this application, or add the origin to TrustedOrigins.",
	ReasonRefererMalformed:      "The Referer header must be an absolute URL with a scheme and a host.",
	ReasonRefererInsecure:       "An HTTPS request came from a plain-HTTP page, which a network attacker can forge. Serve every page over HTTPS (and enable HSTS).",
	ReasonTokenMissing:          "Send the anti-CSRF token in the X-Forgeproof-Token header or the forgeproof_token form field (or the names this application configured). Fetch a token from the page or the token endpoint first.",
	ReasonTokenInvalid:          "The anti-CSRF token is not one this application issued for this browser. Reload the page to get a fresh token and retry.",
	ReasonTokenExpired:          "The anti-CSRF token is too old. Reload the page to get a fresh token and retry.",
	ReasonTokenReused:           "This one-time anti-CSRF token was already used. Fetch a new token for each submission.",
	ReasonTokenSessionMismatch:  "The anti-CSRF token was issued to another session, for example before a login. Reload the page to get a token for the current session.",
	ReasonCookieMissing:         "The anti-CSRF cookie was not sent. Enable cookies, send credentials with the request (fetch credentials: \"same-origin\"), and reload the page.",
	ReasonContentTypeNotAllowed: "This endpoint accepts JSON only. Send the body with Content-Type: application/json.",
	ReasonHeaderMissing:         "This endpoint requires a custom request header (such as X-Requested-With), which only pages allowed by CORS can send. Add it to the request.",
	ReasonBodyUnreadable:        "The form body could not be read to find the anti-CSRF token (it was malformed or too large). Send the token in the X-Forgeproof-Token header instead.",
	ReasonStoreUnavailable:      "The server could not reach its token store, so it could not verify this request. Retry later.",
	ReasonReauthRequired:        "This action requires a fresh re-authentication. Confirm your identity again and retry.",
	ReasonReauthReused:          "This re-authentication proof was already used. Confirm your identity again and retry.",
	ReasonMethodOverrideInvalid: "A method override (X-HTTP-Method-Override, X-HTTP-Method, X-Method-Override or _method) must be a single method name such as PUT or DELETE. Send the request with its real method, or a well-formed override.",
	ReasonCookieConflict:        "The request carried two cookies of the same name with different values (the session cookie or the anti-CSRF cookie), which another site of the same domain can cause. Clear this site's cookies and sign in again.",
	ReasonUnauthenticated:       "This endpoint requires a verified identity. Send a valid, unexpired access token (Authorization: Bearer) or sign in again.",
	ReasonRoleForbidden:         "Your identity was verified but holds none of the roles this endpoint requires. Ask an administrator for the role, or use an account that has it.",
	ReasonRequestInvalid:        "The request does not match the operation in the API description. The pointer member names the offending body field, or the parameter and in members the parameter; correct it and retry.",
	ReasonMediaTypeUnsupported:  "The operation does not accept a body of this Content-Type. Send one of the media types its API description lists, such as application/json.",
	ReasonRequestTooLarge:       "The request body is larger than the gateway validates. Send a smaller body.",
	ReasonOperationUnknown:      "No operation of the API description has this method and path. Check the URL and method against the API description.",
}

// problemBodies holds the default problem+json body of each reason,
// marshalled once so that a rejection costs no allocation.
var problemBodies = func() (b [numReasons][]byte) {
	for r := ReasonNone + 1; r < numReasons; r++ {
		b[r] = problem.Marshal(problem.Details{
			Type:   docsURL + r.String(),
			Title:  r.Title(),
			Status: r.Status(),
			Detail: reasonDetail[r],
		}, problem.Member{Name: "reason", Value: r.String()})
	}
	return b
}()

// errorValues holds one shared *Error per reason and report-only flag, so
// that Check and the deny path do not allocate.
var errorValues = func() (e [numReasons][2]Error) {
	for r := range e {
		e[r][0] = Error{Reason: Reason(r)}
		e[r][1] = Error{Reason: Reason(r), ReportOnly: true}
	}
	return e
}()

// errorFor returns the shared *Error for reason.
func errorFor(reason Reason, reportOnly bool) *Error {
	if reportOnly {
		return &errorValues[reason][1]
	}
	return &errorValues[reason][0]
}
