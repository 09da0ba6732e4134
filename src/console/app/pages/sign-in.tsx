// Sign-in with a platform user's password (POST /api/login).
import { useState } from 'react';
import { useSessionState } from '../lib/session.tsx';
import { ErrorMessage, Field, Notice, useSubmit } from '../components/ui.tsx';

export function SignIn() {
  const { signIn, endedBecause } = useSessionState();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const { busy, error, submit } = useSubmit(() => signIn(username.trim(), password));
  return (
    <main id="main" className="sign-in">
      <h1>Snapline console</h1>
      {endedBecause && <Notice>{endedBecause}</Notice>}
      <form onSubmit={(e) => void submit(e)} aria-describedby="sign-in-help">
        <p id="sign-in-help">Sign in with your Snapline user. The session lasts until you sign out or reload the page.</p>
        <Field label="Username" name="username" autoComplete="username" required value={username} onChange={(e) => setUsername(e.target.value)} />
        <Field label="Password" name="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        <ErrorMessage error={error} />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
