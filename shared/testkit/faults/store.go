package faults

import (
	"context"
	"time"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// Each method fails with its injected error, if any, before reaching the
// wrapped store.

func (s *Store) Client(ctx context.Context, clientID string) (*oauth.Client, error) {
	if err := s.q.pop("Client"); err != nil {
		return nil, err
	}
	return s.Store.Client(ctx, clientID)
}

func (s *Store) Clients(ctx context.Context) ([]*oauth.Client, error) {
	if err := s.q.pop("Clients"); err != nil {
		return nil, err
	}
	return s.Store.Clients(ctx)
}

func (s *Store) CreateClient(ctx context.Context, c *oauth.Client) error {
	if err := s.q.pop("CreateClient"); err != nil {
		return err
	}
	return s.Store.CreateClient(ctx, c)
}

func (s *Store) UpdateClient(ctx context.Context, c *oauth.Client) error {
	if err := s.q.pop("UpdateClient"); err != nil {
		return err
	}
	return s.Store.UpdateClient(ctx, c)
}

func (s *Store) DeleteClient(ctx context.Context, clientID string) error {
	if err := s.q.pop("DeleteClient"); err != nil {
		return err
	}
	return s.Store.DeleteClient(ctx, clientID)
}

func (s *Store) ResourceServer(ctx context.Context, identifier string) (*oauth.ResourceServer, error) {
	if err := s.q.pop("ResourceServer"); err != nil {
		return nil, err
	}
	return s.Store.ResourceServer(ctx, identifier)
}

func (s *Store) ResourceServers(ctx context.Context) ([]*oauth.ResourceServer, error) {
	if err := s.q.pop("ResourceServers"); err != nil {
		return nil, err
	}
	return s.Store.ResourceServers(ctx)
}

func (s *Store) CreateResourceServer(ctx context.Context, rs *oauth.ResourceServer) error {
	if err := s.q.pop("CreateResourceServer"); err != nil {
		return err
	}
	return s.Store.CreateResourceServer(ctx, rs)
}

func (s *Store) UpdateResourceServer(ctx context.Context, rs *oauth.ResourceServer) error {
	if err := s.q.pop("UpdateResourceServer"); err != nil {
		return err
	}
	return s.Store.UpdateResourceServer(ctx, rs)
}

func (s *Store) DeleteResourceServer(ctx context.Context, identifier string) error {
	if err := s.q.pop("DeleteResourceServer"); err != nil {
		return err
	}
	return s.Store.DeleteResourceServer(ctx, identifier)
}

func (s *Store) ClientGrantFor(ctx context.Context, clientID string, audience string) (*oauth.ClientGrant, error) {
	if err := s.q.pop("ClientGrantFor"); err != nil {
		return nil, err
	}
	return s.Store.ClientGrantFor(ctx, clientID, audience)
}

func (s *Store) ClientGrant(ctx context.Context, id string) (*oauth.ClientGrant, error) {
	if err := s.q.pop("ClientGrant"); err != nil {
		return nil, err
	}
	return s.Store.ClientGrant(ctx, id)
}

func (s *Store) ClientGrants(ctx context.Context) ([]*oauth.ClientGrant, error) {
	if err := s.q.pop("ClientGrants"); err != nil {
		return nil, err
	}
	return s.Store.ClientGrants(ctx)
}

func (s *Store) CreateClientGrant(ctx context.Context, g *oauth.ClientGrant) error {
	if err := s.q.pop("CreateClientGrant"); err != nil {
		return err
	}
	return s.Store.CreateClientGrant(ctx, g)
}

func (s *Store) UpdateClientGrant(ctx context.Context, g *oauth.ClientGrant) error {
	if err := s.q.pop("UpdateClientGrant"); err != nil {
		return err
	}
	return s.Store.UpdateClientGrant(ctx, g)
}

func (s *Store) DeleteClientGrant(ctx context.Context, id string) error {
	if err := s.q.pop("DeleteClientGrant"); err != nil {
		return err
	}
	return s.Store.DeleteClientGrant(ctx, id)
}

func (s *Store) User(ctx context.Context, userID string) (*oauth.User, error) {
	if err := s.q.pop("User"); err != nil {
		return nil, err
	}
	return s.Store.User(ctx, userID)
}

func (s *Store) UserByEmail(ctx context.Context, email string) (*oauth.User, error) {
	if err := s.q.pop("UserByEmail"); err != nil {
		return nil, err
	}
	return s.Store.UserByEmail(ctx, email)
}

func (s *Store) Users(ctx context.Context) ([]*oauth.User, error) {
	if err := s.q.pop("Users"); err != nil {
		return nil, err
	}
	return s.Store.Users(ctx)
}

func (s *Store) CreateUser(ctx context.Context, u *oauth.User) error {
	if err := s.q.pop("CreateUser"); err != nil {
		return err
	}
	return s.Store.CreateUser(ctx, u)
}

func (s *Store) UpdateUser(ctx context.Context, u *oauth.User) error {
	if err := s.q.pop("UpdateUser"); err != nil {
		return err
	}
	return s.Store.UpdateUser(ctx, u)
}

func (s *Store) DeleteUser(ctx context.Context, userID string) error {
	if err := s.q.pop("DeleteUser"); err != nil {
		return err
	}
	return s.Store.DeleteUser(ctx, userID)
}

func (s *Store) CreateCode(ctx context.Context, c *oauth.AuthCode) error {
	if err := s.q.pop("CreateCode"); err != nil {
		return err
	}
	return s.Store.CreateCode(ctx, c)
}

func (s *Store) Code(ctx context.Context, hash string, now time.Time) (*oauth.AuthCode, error) {
	if err := s.q.pop("Code"); err != nil {
		return nil, err
	}
	return s.Store.Code(ctx, hash, now)
}

func (s *Store) RedeemCode(ctx context.Context, hash string, f *oauth.Family, now time.Time) error {
	if err := s.q.pop("RedeemCode"); err != nil {
		return err
	}
	return s.answer("lost:RedeemCode", s.Store.RedeemCode(ctx, hash, f, now))
}

func (s *Store) SettleRedemption(ctx context.Context, hash, familyID string) (bool, error) {
	if err := s.q.pop("SettleRedemption"); err != nil {
		return false, err
	}
	return s.Store.SettleRedemption(ctx, hash, familyID)
}

func (s *Store) CreateFamily(ctx context.Context, f *oauth.Family) error {
	if err := s.q.pop("CreateFamily"); err != nil {
		return err
	}
	return s.Store.CreateFamily(ctx, f)
}

func (s *Store) Family(ctx context.Context, id string) (*oauth.Family, error) {
	if err := s.q.pop("Family"); err != nil {
		return nil, err
	}
	return s.Store.Family(ctx, id)
}

func (s *Store) FamiliesByUser(ctx context.Context, userID string) ([]*oauth.Family, error) {
	if err := s.q.pop("FamiliesByUser"); err != nil {
		return nil, err
	}
	return s.Store.FamiliesByUser(ctx, userID)
}

func (s *Store) AdvanceFamily(ctx context.Context, id string, a oauth.Advance) error {
	if err := s.q.pop("AdvanceFamily"); err != nil {
		return err
	}
	return s.answer("lost:AdvanceFamily", s.Store.AdvanceFamily(ctx, id, a))
}

func (s *Store) SettleAdvance(ctx context.Context, id string, a oauth.Advance) (bool, error) {
	if err := s.q.pop("SettleAdvance"); err != nil {
		return false, err
	}
	return s.Store.SettleAdvance(ctx, id, a)
}

func (s *Store) RevokeFamily(ctx context.Context, id string, reason string, now time.Time) error {
	if err := s.q.pop("RevokeFamily"); err != nil {
		return err
	}
	return s.Store.RevokeFamily(ctx, id, reason, now)
}

func (s *Store) CreateSession(ctx context.Context, sess *oauth.Session) error {
	if err := s.q.pop("CreateSession"); err != nil {
		return err
	}
	return s.Store.CreateSession(ctx, sess)
}

func (s *Store) Session(ctx context.Context, hash string, now time.Time) (*oauth.Session, error) {
	if err := s.q.pop("Session"); err != nil {
		return nil, err
	}
	return s.Store.Session(ctx, hash, now)
}

func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	if err := s.q.pop("DeleteSession"); err != nil {
		return err
	}
	return s.Store.DeleteSession(ctx, hash)
}

func (s *Store) Consent(ctx context.Context, userID string, clientID string, audience string) (*oauth.Consent, error) {
	if err := s.q.pop("Consent"); err != nil {
		return nil, err
	}
	return s.Store.Consent(ctx, userID, clientID, audience)
}

func (s *Store) PutConsent(ctx context.Context, c *oauth.Consent) error {
	if err := s.q.pop("PutConsent"); err != nil {
		return err
	}
	return s.Store.PutConsent(ctx, c)
}

func (s *Store) ReserveLoginAttempt(ctx context.Context, key string, now time.Time, window time.Duration, limit int) (bool, error) {
	if err := s.q.pop("ReserveLoginAttempt"); err != nil {
		return false, err
	}
	return s.Store.ReserveLoginAttempt(ctx, key, now, window, limit)
}

func (s *Store) ReleaseLoginAttempt(ctx context.Context, key string) error {
	if err := s.q.pop("ReleaseLoginAttempt"); err != nil {
		return err
	}
	return s.Store.ReleaseLoginAttempt(ctx, key)
}

func (s *Store) ClearLoginAttempts(ctx context.Context, key string) error {
	if err := s.q.pop("ClearLoginAttempts"); err != nil {
		return err
	}
	return s.Store.ClearLoginAttempts(ctx, key)
}

func (s *Store) SetUserBlocked(ctx context.Context, userID string, blocked bool) error {
	if err := s.q.pop("SetUserBlocked"); err != nil {
		return err
	}
	return s.Store.SetUserBlocked(ctx, userID, blocked)
}

func (s *Store) RevokeUserTokens(ctx context.Context, userID string, notBefore time.Time) error {
	if err := s.q.pop("RevokeUserTokens"); err != nil {
		return err
	}
	return s.Store.RevokeUserTokens(ctx, userID, notBefore)
}

func (s *Store) UserRevocation(ctx context.Context, userID string) (*oauth.UserRevocation, error) {
	if err := s.q.pop("UserRevocation"); err != nil {
		return nil, err
	}
	return s.Store.UserRevocation(ctx, userID)
}
