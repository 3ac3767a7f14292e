/** Prints the README's table of who may do what, rendered from the verbs' declarations. */
import { PERMISSIONS } from '../src/bot/actions.js';
import { renderPermissionTable } from '../src/domain/roles.js';

process.stdout.write(`${renderPermissionTable(PERMISSIONS)}\n`);
