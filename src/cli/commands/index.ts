// Every CLI command module registers itself on the program here.
import type { Command } from 'commander';
import { registerAccount } from './account.ts';
import { registerKey } from './key.ts';
import { registerPack } from './pack.ts';
import { registerRoot } from './root.ts';
import { registerSign } from './sign.ts';
import { registerVerify } from './verify.ts';
import { registerServe } from './serve.ts';
import { registerServerClient } from './server-client.ts';
import { registerStore } from './store.ts';
import { registerVault } from './vault.ts';
import { registerImage } from './image.ts';

export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [registerKey, registerRoot, registerAccount, registerSign, registerVerify, registerPack, registerServe, registerServerClient, registerStore, registerVault, registerImage];
