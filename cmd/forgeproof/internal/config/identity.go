package config

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/gateway"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/httpsyntax"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/identity"
)

// Identity says where the roles that routes[].roles require come from:
// exactly one of JWT and Header.
type Identity struct {
	// JWT reads roles from a verified JSON Web Token.
	JWT *JWT `yaml:"jwt"`
	// Header reads roles from a header set by an authenticating proxy.
	Header *RolesHeader `yaml:"header"`
}

// JWT configures the verification of JSON Web Tokens; see
// [identity.JWT].
type JWT struct {
	// HMACSecret verifies HMAC-signed tokens.
	HMACSecret Secret `yaml:"hmac_secret"`
	// JWKSFile is a JSON Web Key Set file of public keys.
	JWKSFile string `yaml:"jwks_file"`
	// JWKSURL is a JSON Web Key Set URL, fetched and cached.
	JWKSURL string `yaml:"jwks_url"`
	// JWKSRefresh is how long a fetched key set is used.
	JWKSRefresh time.Duration `yaml:"jwks_refresh"`
	// Issuer must equal the token's iss claim.
	Issuer string `yaml:"issuer"`
	// Audience must be one of the token's aud claim.
	Audience string `yaml:"audience"`
	// Algorithms are the accepted alg headers.
	Algorithms []string `yaml:"algorithms"`
	// Cookie is the cookie that carries the token when no Authorization
	// header does.
	Cookie string `yaml:"cookie"`
	// RolesClaim is the claim path of the roles.
	RolesClaim string `yaml:"roles_claim"`
	// Leeway is the clock skew allowed.
	Leeway time.Duration `yaml:"leeway"`
}

// RolesHeader is the header in which an authenticating proxy passes the
// roles it verified.
type RolesHeader struct {
	// Name is the header's name.
	Name string `yaml:"name"`
}

// options returns the gateway's identity options, or nil when no source
// is set. The configuration must be valid.
func (id *Identity) options() *identity.Options {
	switch {
	case id.JWT != nil:
		j := id.JWT
		out := &identity.JWT{
			JWKSFile:    j.JWKSFile,
			JWKSURL:     j.JWKSURL,
			JWKSRefresh: j.JWKSRefresh,
			Issuer:      j.Issuer,
			Audience:    j.Audience,
			Algorithms:  j.Algorithms,
			Cookie:      j.Cookie,
			RolesClaim:  j.RolesClaim,
			Leeway:      j.Leeway,
		}
		if v := j.HMACSecret.Value(); v != "" {
			out.HMACSecret = []byte(v)
		}
		return &identity.Options{JWT: out}
	case id.Header != nil:
		return &identity.Options{Header: &identity.Header{Name: id.Header.Name}}
	}
	return nil
}

// identity checks the identity section and the roles of every route.
func (v *validator) identity() {
	id := &v.c.Identity
	set := id.JWT != nil || id.Header != nil
	for i, r := range v.c.Routes {
		path := fmt.Sprintf("routes[%d].roles", i)
		if len(r.Roles) > 0 && !set {
			v.errorf(path, "roles need a source of identities: set identity.jwt (tokens from your identity provider) or identity.header (an authenticating proxy's header)")
		}
		for j, role := range r.Roles {
			if !gateway.ValidRole(role) {
				v.errorf(fmt.Sprintf("%s[%d]", path, j), "%q is not a role name: write one name without white space or commas per list entry", role)
			}
		}
	}
	if id.JWT != nil && id.Header != nil {
		v.errorf("identity", "set one source of identities, jwt or header, not both")
		return
	}
	if h := id.Header; h != nil {
		if !httpsyntax.IsToken(h.Name) {
			v.errorf("identity.header.name", "%q is not a header name: name the header in which the proxy passes the roles, such as X-Auth-Roles", h.Name)
		}
		if len(v.c.Protection.TrustedProxies) == 0 {
			v.errorf("identity.header", "a roles header is believed only from protection.trusted_proxies, and none is listed: add the authenticating proxy's address")
		}
	}
	if id.JWT != nil {
		v.jwt(id.JWT)
	}
}

func (v *validator) jwt(j *JWT) {
	const p = "identity.jwt"
	sources := 0
	if !j.HMACSecret.IsZero() {
		sources++
		if err := j.HMACSecret.Resolve(); err != nil {
			v.errorf(p+".hmac_secret", "%v", err)
		} else if n := len(j.HMACSecret.Value()); n < identity.MinHMACSecretBytes {
			v.errorf(p+".hmac_secret", "the secret is %d bytes, it needs at least %d", n, identity.MinHMACSecretBytes)
		}
	}
	if j.JWKSFile != "" {
		sources++
		if err := identity.ReadKeySetFile(j.JWKSFile); err != nil {
			v.errorf(p+".jwks_file", "%v", err)
		}
	}
	if j.JWKSURL != "" {
		sources++
		if err := identity.CheckJWKSURL(j.JWKSURL); err != nil {
			v.errorf(p+".jwks_url", "%v", err)
		}
	}
	if sources != 1 {
		v.errorf(p, "set exactly one of hmac_secret, jwks_file and jwks_url to verify token signatures")
	}
	if j.JWKSRefresh != 0 && (j.JWKSURL == "" || j.JWKSRefresh < time.Second) {
		v.errorf(p+".jwks_refresh", "applies to jwks_url only, and must be at least 1s")
	}
	if j.Issuer == "" {
		v.errorf(p+".issuer", "missing: write the iss claim of your identity provider's tokens, such as https://idp.example.com/realms/main")
	}
	if j.Audience == "" {
		v.errorf(p+".audience", "missing: write the aud claim that tokens meant for this API carry")
	}
	allowed := identity.PublicKeyAlgorithms
	if !j.HMACSecret.IsZero() {
		allowed = identity.HMACAlgorithms
	}
	for i, a := range j.Algorithms {
		if !slices.Contains(allowed, a) {
			v.errorf(fmt.Sprintf("%s.algorithms[%d]", p, i), "%q cannot verify these tokens: choose among %s", a, strings.Join(allowed, ", "))
		}
	}
	if j.Cookie != "" && !httpsyntax.IsToken(j.Cookie) {
		v.errorf(p+".cookie", "%q is not a cookie name", j.Cookie)
	}
	if j.RolesClaim != "" {
		if _, err := identity.ParseClaimPath(j.RolesClaim); err != nil {
			v.errorf(p+".roles_claim", "%v", err)
		}
	}
	if j.Leeway < 0 || j.Leeway > identity.MaxLeeway {
		v.errorf(p+".leeway", "allow between 0 and %s of clock skew", identity.MaxLeeway)
	}
}
