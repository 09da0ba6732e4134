// The worked example of the protocol doc (section 1.11): the JSON given to the
// real `snap sign`, and the content it produced (before its sign-key line).

export const WORKED_EXAMPLE_INPUT = {
  type: 'model',
  'authority-id': 'acme',
  series: '16',
  'brand-id': 'acme',
  model: 'acme-gadget-20',
  'display-name': 'Acme Gadget 20',
  architecture: 'amd64',
  base: 'core20',
  grade: 'signed',
  'serial-authority': ['acme'],
  snaps: [
    { name: 'pc', type: 'gadget', id: 'UqFziVZDHLSyO3TqSWgNBoAdHbLI4dAH', 'default-channel': '20/stable' },
    { name: 'pc-kernel', type: 'kernel', id: 'pYVQrBcKmBa0mZ4CCN7ExT6jH8rY1hza', 'default-channel': '20/stable' },
    { name: 'core20', type: 'base', id: 'DLqre5XGLbDqg9jPtiAhRRjDuPVa5X1q', 'default-channel': 'latest/stable' },
    { name: 'snapd', type: 'snapd', id: 'PMrrV4ml8uWuEUDBT8dSGnKUYbevVhc4', 'default-channel': 'latest/stable' },
    { name: 'hello-world', id: 'buPKUD3TKqCOgLEjjHx5kSiCpIs5cMuQ', presence: 'optional', modes: ['run'] },
  ],
  timestamp: '2024-01-15T10:00:00Z',
};

/** Everything `snap sign` wrote before the `sign-key-sha3-384:` line, which depends on the key. */
export const WORKED_EXAMPLE_CONTENT_HEAD = `type: model
authority-id: acme
series: 16
brand-id: acme
model: acme-gadget-20
architecture: amd64
base: core20
display-name: Acme Gadget 20
grade: signed
serial-authority:
  - acme
snaps:
  -
    default-channel: 20/stable
    id: UqFziVZDHLSyO3TqSWgNBoAdHbLI4dAH
    name: pc
    type: gadget
  -
    default-channel: 20/stable
    id: pYVQrBcKmBa0mZ4CCN7ExT6jH8rY1hza
    name: pc-kernel
    type: kernel
  -
    default-channel: latest/stable
    id: DLqre5XGLbDqg9jPtiAhRRjDuPVa5X1q
    name: core20
    type: base
  -
    default-channel: latest/stable
    id: PMrrV4ml8uWuEUDBT8dSGnKUYbevVhc4
    name: snapd
    type: snapd
  -
    id: buPKUD3TKqCOgLEjjHx5kSiCpIs5cMuQ
    modes:
      - run
    name: hello-world
    presence: optional
timestamp: 2024-01-15T10:00:00Z
`;
