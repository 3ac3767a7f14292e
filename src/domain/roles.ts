/**
 * Who may do what in a partner's organisation: the roles of Partner Center, the rules for holding
 * them, and the permission table (one declaration per verb) that the check and the README share.
 */
import { z } from 'zod';

/** Ordered from most to least power: Admin agents do everything. */
export const ROLES = ['admin', 'sales', 'helpdesk'] as const;
export type Role = (typeof ROLES)[number];

/** As Partner Center names them. */
export const ROLE_NAMES: Record<Role, string> = { admin: 'Admin agent', sales: 'Sales agent', helpdesk: 'Helpdesk agent' };

export const RoleAssignmentSchema = z.object({
  role: z.enum(ROLES),
  /** Name as last seen, for "Ask Jonas Keller (Admin agent)" without another lookup. */
  name: z.string(),
  /** firstProfile: saved the partner profile first; upgrade: could act before roles existed; assigned: by an Admin agent. */
  reason: z.enum(['firstProfile', 'upgrade', 'assigned']),
  /** User id of the Admin agent who assigned it; absent for firstProfile and upgrade. */
  assignedBy: z.string().optional(),
  assignedAt: z.iso.datetime(),
});
export type RoleAssignment = z.infer<typeof RoleAssignmentSchema>;

/** The partner's roles by user id (Entra object id); a person not in it has no role (help only). */
export const RoleBookSchema = z.record(z.string(), RoleAssignmentSchema);
export type RoleBook = z.infer<typeof RoleBookSchema>;

export interface Person {
  userId: string;
  name: string;
}

/** One change of a role, to be recorded in the audit trail. */
export interface RoleChange {
  userId: string;
  name: string;
  from?: Role;
  to?: Role;
  reason: RoleAssignment['reason'];
}

export function roleOf(book: Readonly<RoleBook>, userId: string): Role | undefined {
  return Object.hasOwn(book, userId) ? book[userId]!.role : undefined;
}

export function holdersOf(book: Readonly<RoleBook>, role: Role): Person[] {
  return Object.entries(book)
    .filter(([, assignment]) => assignment.role === role)
    .map(([userId, assignment]) => ({ userId, name: assignment.name }))
    .sort((a, b) => a.name.localeCompare(b.name) || a.userId.localeCompare(b.userId));
}

/**
 * Roles when a partner's document is first read after the upgrade that introduced them (`book`
 * undefined): everyone who could act before (staff the bot has met, whoever saved the profile or set
 * up a customer) becomes Admin agent until an Admin agent changes it, so nobody is locked out.
 * A partner that already has a book is left as it is.
 */
export function rolesAfterUpgrade(book: Readonly<RoleBook> | undefined, staff: readonly Person[], now: Date): { book: RoleBook; changes: RoleChange[] } {
  if (book) return { book: { ...book }, changes: [] };
  const next: RoleBook = {};
  const changes: RoleChange[] = [];
  for (const person of staff) {
    if (Object.hasOwn(next, person.userId)) continue;
    next[person.userId] = { role: 'admin', name: person.name, reason: 'upgrade', assignedAt: now.toISOString() };
    changes.push({ userId: person.userId, name: person.name, to: 'admin', reason: 'upgrade' });
  }
  return { book: next, changes };
}

/** The first person to save the partner profile (while the tenant has no Admin agent) becomes one. */
export function rolesAfterProfileSaved(book: Readonly<RoleBook>, by: Person, now: Date): { book: RoleBook; change?: RoleChange } {
  if (holdersOf(book, 'admin').length > 0) return { book: { ...book } };
  const from = roleOf(book, by.userId);
  return {
    book: { ...book, [by.userId]: { role: 'admin', name: by.name, reason: 'firstProfile', assignedAt: now.toISOString() } },
    change: { userId: by.userId, name: by.name, from, to: 'admin', reason: 'firstProfile' },
  };
}

export type AssignRefusal = 'notAdmin' | 'unknownPerson' | 'lastAdmin';

/**
 * An Admin agent gives `target` a role, or takes it (`role` undefined). Only people the bot has met
 * in the tenant (`known`) can be given one; a change that would leave the tenant without an Admin
 * agent is refused, so the last one cannot remove their own role.
 */
export function assignRole(
  book: Readonly<RoleBook>,
  by: Person,
  target: string,
  role: Role | undefined,
  known: ReadonlyMap<string, string>,
  now: Date,
): { book: RoleBook; change?: RoleChange } | { refused: AssignRefusal } {
  if (roleOf(book, by.userId) !== 'admin') return { refused: 'notAdmin' };
  const name = known.get(target) ?? (Object.hasOwn(book, target) ? book[target]!.name : undefined);
  if (name === undefined) return { refused: 'unknownPerson' };
  const from = roleOf(book, target);
  if (from === role) return { book: { ...book } };
  const next: RoleBook = { ...book };
  if (role) next[target] = { role, name, reason: 'assigned', assignedBy: by.userId, assignedAt: now.toISOString() };
  else delete next[target];
  if (holdersOf(next, 'admin').length === 0) return { refused: 'lastAdmin' };
  return { book: next, change: { userId: target, name, from, to: role, reason: 'assigned' } };
}

/**
 * Who may run a verb: anyone (help, the welcome card), a customer's admin in their own tenant, or
 * the partner's staff with one of these roles. Admin agents may always: `staff()` adds them.
 */
export type Access = { kind: 'anyone' } | { kind: 'customerAdmin' } | { kind: 'staff'; roles: readonly Role[]; whileNoAdmin?: boolean };

export const anyone: Access = { kind: 'anyone' };
export const customerAdmin: Access = { kind: 'customerAdmin' };

/**
 * Partner staff holding Admin agent or one of `roles`. `whileNoAdmin`: also anyone of the partner's
 * tenant while it has no Admin agent yet (the partner profile, whose first saver becomes one).
 */
export function staff(roles: readonly Exclude<Role, 'admin'>[] = [], options: { whileNoAdmin?: boolean } = {}): Access {
  return { kind: 'staff', roles: ROLES.filter((role) => role === 'admin' || roles.includes(role)), ...(options.whileNoAdmin ? { whileNoAdmin: true } : {}) };
}

/**
 * A tenant without an Admin agent (a new partner, before anyone saved the profile) works as before
 * roles existed, so nobody is locked out; the first profile saver becomes Admin agent, and from then
 * on the roles apply. Role assignment and the history need an Admin agent from the start.
 */
export const beforeRoles = { whileNoAdmin: true } as const;

/** One verb's entry in the table; the bot's flow modules declare one per verb. */
export interface Permission {
  verb: string;
  access: Access;
  /** What the verb does, for the README's table (English). */
  does: string;
}

/** Who asks: the partner's staff (with their role, if any) or a customer's admin in their tenant. */
export type Requester = { side: 'partner'; role?: Role; tenantHasAdmin: boolean } | { side: 'customer' };

export type Check = { allowed: true } | { allowed: false; needed: readonly Role[] | 'customerAdmin' };

/** The table as a map by verb; a verb declared twice is a programming error, found at start. */
export function permissionTable(declarations: readonly Permission[]): ReadonlyMap<string, Permission> {
  const table = new Map<string, Permission>();
  for (const declaration of declarations) {
    if (table.has(declaration.verb)) throw new Error(`The verb ${declaration.verb} is declared twice in the permission table`);
    table.set(declaration.verb, declaration);
  }
  return table;
}

/** Whether `who` may run `verb`; a verb the table does not know is refused (as a forged one is). */
export function check(table: ReadonlyMap<string, Permission>, verb: string, who: Requester): Check {
  const access = table.get(verb)?.access;
  if (!access) return { allowed: false, needed: ['admin'] };
  switch (access.kind) {
    case 'anyone':
      return { allowed: true };
    case 'customerAdmin':
      return who.side === 'customer' ? { allowed: true } : { allowed: false, needed: 'customerAdmin' };
    case 'staff':
      if (who.side !== 'partner') return { allowed: false, needed: access.roles };
      if (who.role && access.roles.includes(who.role)) return { allowed: true };
      if (access.whileNoAdmin && !who.tenantHasAdmin) return { allowed: true };
      return { allowed: false, needed: access.roles };
  }
}

/** What a refusal says: the role needed and who holds it ("Ask Jonas Keller (Admin agent)"). */
export interface RefusalData {
  verb: string;
  /** The least powerful role that may run the verb first. */
  needed: Role[];
  /** People holding a needed role, least powerful role first, then by name. */
  holders: Array<Person & { role: Role }>;
  /** Nobody holds Admin agent yet: saving the partner profile makes the asker one. */
  claimable: boolean;
}

export function refusalData(verb: string, needed: readonly Role[], book: Readonly<RoleBook>): RefusalData {
  const order = [...needed].sort((a, b) => ROLES.indexOf(b) - ROLES.indexOf(a));
  return {
    verb,
    needed: order,
    holders: order.flatMap((role) => holdersOf(book, role).map((person) => ({ ...person, role }))),
    claimable: holdersOf(book, 'admin').length === 0,
  };
}

const ACCESS_MARK = '✓';

/** The README's table of who may do what, rendered from the declarations (the README test compares it). */
export function renderPermissionTable(declarations: readonly Permission[]): string {
  const header = ['What', 'Verb', ...ROLES.map((role) => ROLE_NAMES[role]), 'No role'];
  const rows = declarations.map(({ verb, access, does }) => {
    const cells = ROLES.map((role) => (access.kind === 'anyone' || (access.kind === 'staff' && access.roles.includes(role)) ? ACCESS_MARK : ''));
    const noRole = access.kind === 'anyone' ? ACCESS_MARK : access.kind === 'customerAdmin' ? "customer's admin only" : access.kind === 'staff' && access.whileNoAdmin ? 'until the tenant has an Admin agent' : '';
    return [does, `\`${verb}\``, ...cells, noRole];
  });
  const line = (cells: readonly string[]) => `| ${cells.map((cell) => cell.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
