package forgeproof

// HeaderName returns the request header that carries the token:
// [Config.HeaderName], or its default. Gateways and client scripts use it
// instead of a copy of the default.
func (p *Protection) HeaderName() string { return p.tok.headerName }

// FieldName returns the form field that carries the token:
// [Config.FieldName], or its default.
func (p *Protection) FieldName() string { return p.tok.fieldName }
