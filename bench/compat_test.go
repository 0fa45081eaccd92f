package bench

import (
	"net/http"
	"testing"

	fpcsrf "github.com/forgeproof/forgeproof/csrf"
	"github.com/forgeproof/forgeproof/internal/csrftest"
	"github.com/gorilla/csrf"
)

// TestGorillaEquivalence runs the table of gorilla/csrf's documented
// behaviour against gorilla/csrf v1.7.3 itself and against forgeproof's
// csrf package: both must give every scenario the same answer, so that
// migrating is a change of import path.
func TestGorillaEquivalence(t *testing.T) {
	gorilla := csrftest.API{
		Protect: func(s csrftest.Settings) func(http.Handler) http.Handler {
			var opts []csrf.Option
			if s.TrustedOrigins != nil {
				opts = append(opts, csrf.TrustedOrigins(s.TrustedOrigins))
			}
			if s.FieldName != "" {
				opts = append(opts, csrf.FieldName(s.FieldName))
			}
			if s.RequestHeader != "" {
				opts = append(opts, csrf.RequestHeader(s.RequestHeader))
			}
			if s.CookieName != "" {
				opts = append(opts, csrf.CookieName(s.CookieName))
			}
			if s.Secure != nil {
				opts = append(opts, csrf.Secure(*s.Secure))
			}
			return csrf.Protect(csrftest.AuthKey, opts...)
		},
		Token:                csrf.Token,
		TemplateField:        csrf.TemplateField,
		FailureReason:        csrf.FailureReason,
		UnsafeSkipCheck:      csrf.UnsafeSkipCheck,
		PlaintextHTTPRequest: csrf.PlaintextHTTPRequest,
	}
	forgeproof := csrftest.API{
		Protect: func(s csrftest.Settings) func(http.Handler) http.Handler {
			var opts []fpcsrf.Option
			if s.TrustedOrigins != nil {
				opts = append(opts, fpcsrf.TrustedOrigins(s.TrustedOrigins))
			}
			if s.FieldName != "" {
				opts = append(opts, fpcsrf.FieldName(s.FieldName))
			}
			if s.RequestHeader != "" {
				opts = append(opts, fpcsrf.RequestHeader(s.RequestHeader))
			}
			if s.CookieName != "" {
				opts = append(opts, fpcsrf.CookieName(s.CookieName))
			}
			if s.Secure != nil {
				opts = append(opts, fpcsrf.Secure(*s.Secure))
			}
			return fpcsrf.Protect(csrftest.AuthKey, opts...)
		},
		Token:                fpcsrf.Token,
		TemplateField:        fpcsrf.TemplateField,
		FailureReason:        fpcsrf.FailureReason,
		UnsafeSkipCheck:      fpcsrf.UnsafeSkipCheck,
		PlaintextHTTPRequest: fpcsrf.PlaintextHTTPRequest,
	}
	t.Run("gorilla/csrf", func(t *testing.T) { csrftest.Run(t, gorilla) })
	t.Run("forgeproof/csrf", func(t *testing.T) { csrftest.Run(t, forgeproof) })
}
