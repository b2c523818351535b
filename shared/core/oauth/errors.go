package oauth

import (
	"errors"
	"fmt"
	"net/http"
)

// ErrorCode is an OAuth 2.0 error code: RFC 6749 §4.1.2.1 and §5.2, RFC 8707 §2,
// OIDC Core §3.1.2.6. The value is the wire string.
type ErrorCode string

const (
	InvalidRequest          ErrorCode = "invalid_request"
	InvalidClient           ErrorCode = "invalid_client"
	InvalidGrant            ErrorCode = "invalid_grant"
	UnauthorizedClient      ErrorCode = "unauthorized_client"
	UnsupportedGrantType    ErrorCode = "unsupported_grant_type"
	InvalidScope            ErrorCode = "invalid_scope"
	InvalidTarget           ErrorCode = "invalid_target"     // RFC 8707 §2: audience/resource not allowed
	InvalidDPoPProof        ErrorCode = "invalid_dpop_proof" // RFC 9449 §5
	UseDPoPNonce            ErrorCode = "use_dpop_nonce"     // RFC 9449 §8
	AccessDenied            ErrorCode = "access_denied"
	UnsupportedResponseType ErrorCode = "unsupported_response_type"
	ServerError             ErrorCode = "server_error"
	TemporarilyUnavailable  ErrorCode = "temporarily_unavailable"
	LoginRequired           ErrorCode = "login_required"         // OIDC Core §3.1.2.6
	ConsentRequired         ErrorCode = "consent_required"       // OIDC Core §3.1.2.6
	UnsupportedTokenType    ErrorCode = "unsupported_token_type" // RFC 7009 §2.2.1
)

// Error is an OAuth 2.0 error response. Code and Description go to the client;
// Cause is for logs only and is never serialized.
type Error struct {
	Code        ErrorCode
	Description string // client-safe: no secrets, no internals
	Cause       error
}

// Errorf returns a new *Error; each call returns a fresh value.
func Errorf(code ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Description: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string {
	s := "oauth: " + string(e.Code)
	if e.Description != "" {
		s += ": " + e.Description
	}
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Cause }

// Is reports whether target is an *Error with the same code, so that
// errors.Is(err, oauth.ErrInvalidGrant) works whatever the description.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// WithCause returns a copy of e carrying cause (for the log only).
func (e Error) WithCause(err error) *Error {
	e.Cause = err
	return &e
}

// Status is the HTTP status for the error (RFC 6749 §5.2: 400 unless invalid_client).
func (e *Error) Status() int {
	switch e.Code {
	case InvalidClient:
		return http.StatusUnauthorized
	case ServerError:
		return http.StatusInternalServerError
	case TemporarilyUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusBadRequest
	}
}

// FromError turns any error into an *Error. An *Error in the chain is
// returned as is; ErrUnavailable becomes temporarily_unavailable; anything
// else becomes server_error with a generic description and the original
// error kept as Cause.
func FromError(err error) *Error {
	if err == nil {
		return nil
	}
	var oe *Error
	if errors.As(err, &oe) {
		return oe
	}
	if errors.Is(err, ErrUnavailable) {
		return &Error{Code: TemporarilyUnavailable, Description: "service temporarily unavailable, retry later", Cause: err}
	}
	return &Error{Code: ServerError, Description: "internal error", Cause: err}
}

// Sentinels for errors.Is only; never mutate them.
var (
	ErrInvalidRequest         = &Error{Code: InvalidRequest}
	ErrInvalidClient          = &Error{Code: InvalidClient}
	ErrInvalidGrant           = &Error{Code: InvalidGrant}
	ErrUnauthorizedClient     = &Error{Code: UnauthorizedClient}
	ErrUnsupportedGrantType   = &Error{Code: UnsupportedGrantType}
	ErrInvalidScope           = &Error{Code: InvalidScope}
	ErrInvalidTarget          = &Error{Code: InvalidTarget}
	ErrServerError            = &Error{Code: ServerError}
	ErrTemporarilyUnavailable = &Error{Code: TemporarilyUnavailable}
)

// Storage and dependency sentinels. Stores and signers return these (wrapped
// with context); they are not OAuth errors, the handlers map them.
var (
	ErrNotFound      = errors.New("oauth: not found")
	ErrAlreadyExists = errors.New("oauth: already exists")
	// ErrConsumed: a code was already redeemed, or a refresh token is no
	// longer the head of its family (another exchange rotated it first).
	ErrConsumed = errors.New("oauth: already consumed")
	// ErrRevoked: the refresh-token family is revoked.
	ErrRevoked = errors.New("oauth: revoked")
	// ErrExpired: the refresh-token family is past its idle or absolute
	// expiry.
	ErrExpired = errors.New("oauth: expired")
	// ErrUserRevoked: the family's user is blocked or deleted, or revoked
	// all tokens issued before the family was created (UserRevocation).
	ErrUserRevoked = errors.New("oauth: user revoked")
	// ErrUnavailable: a dependency (DynamoDB, KMS) failed in a way that a
	// retry may fix (throttling, 5xx, timeouts). Maps to 503
	// temporarily_unavailable, never to invalid_grant.
	ErrUnavailable = errors.New("oauth: dependency unavailable")
)

// StaleFamilyError is how AdvanceFamily refuses an existing family that
// does not admit the advance: Err is ErrRevoked, ErrExpired or ErrConsumed
// (the head moved), and Family is the family as the store found it, so
// the caller can place the presented token without reading it again (the
// DynamoDB store gets it from the failed condition itself).
type StaleFamilyError struct {
	Family *Family
	Err    error
}

func (e *StaleFamilyError) Error() string { return "family " + e.Family.ID + ": " + e.Err.Error() }
func (e *StaleFamilyError) Unwrap() error { return e.Err }
