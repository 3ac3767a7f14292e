/**
 * The Microsoft Entra built-in roles a partner can request in a granular delegated admin
 * relationship, and templates for the common cases. Ids are Entra's role template ids (the same in
 * every tenant), as Microsoft's "Microsoft Entra built-in roles" reference lists them; Graph's
 * `accessDetails.unifiedRoles[].roleDefinitionId` carries them.
 */

export interface EntraRole {
  /** The role template id. */
  id: string;
  name: { en: string; de: string };
  /** What the role allows, in one plain line, for the customer's admin who approves it. */
  description: { en: string; de: string };
}

export const GLOBAL_ADMINISTRATOR = '62e90394-69f5-4237-9190-012177145e10';
export const USER_ADMINISTRATOR = 'fe930be7-5e62-47db-91af-98c3a49a38b1';

/** Least privileged first, Global Administrator last, as a picker shows them. */
export const ENTRA_ROLES: readonly EntraRole[] = [
  {
    id: '88d8e3e3-8f55-4a1e-953a-9b9898b8876b',
    name: { en: 'Directory Readers', de: 'Verzeichnisleseberechtigte' },
    description: { en: 'Read basic directory information such as users, groups and apps.', de: 'Grundlegende Verzeichnisinformationen wie Benutzer, Gruppen und Apps lesen.' },
  },
  {
    id: 'f2ef992c-3afb-46b9-b7cf-a126ee74c451',
    name: { en: 'Global Reader', de: 'Globaler Leser' },
    description: { en: 'Read everything a Global Administrator can, but change nothing.', de: 'Alles lesen, was ein globaler Administrator sieht, aber nichts ändern.' },
  },
  {
    id: '729827e3-9c14-49f7-bb1b-9608f156bbb8',
    name: { en: 'Helpdesk Administrator', de: 'Helpdeskadministrator' },
    description: { en: 'Reset passwords of users who are not administrators and manage support requests.', de: 'Kennwörter von Benutzern ohne Administratorrolle zurücksetzen und Supportanfragen verwalten.' },
  },
  {
    id: USER_ADMINISTRATOR,
    name: { en: 'User Administrator', de: 'Benutzeradministrator' },
    description: { en: 'Add, change and delete users and groups, and reset their passwords.', de: 'Benutzer und Gruppen hinzufügen, ändern und löschen und ihre Kennwörter zurücksetzen.' },
  },
  {
    id: '4d6ac14f-3453-41d0-bef9-a3e0c569773a',
    name: { en: 'License Administrator', de: 'Lizenzadministrator' },
    description: { en: 'Assign and remove product licenses for users and groups.', de: 'Produktlizenzen für Benutzer und Gruppen zuweisen und entfernen.' },
  },
  {
    id: '7be44c8a-adaf-4e2a-84d6-ab2649e08a13',
    name: { en: 'Privileged Authentication Administrator', de: 'Administrator für privilegierte Authentifizierung' },
    description: { en: 'View and reset sign-in methods such as MFA for any user, administrators included.', de: 'Anmeldemethoden wie MFA jedes Benutzers anzeigen und zurücksetzen, auch von Administratoren.' },
  },
  {
    id: '29232cdf-9323-42fd-ade2-1d097af3e4de',
    name: { en: 'Exchange Administrator', de: 'Exchange-Administrator' },
    description: { en: 'Manage Exchange Online: mailboxes, mail flow and email settings.', de: 'Exchange Online verwalten: Postfächer, Nachrichtenfluss und E-Mail-Einstellungen.' },
  },
  {
    id: 'f28a1f50-f6e7-4571-818b-6a12f2af6b6c',
    name: { en: 'SharePoint Administrator', de: 'SharePoint-Administrator' },
    description: { en: 'Manage SharePoint and OneDrive: sites, sharing and storage.', de: 'SharePoint und OneDrive verwalten: Websites, Freigaben und Speicher.' },
  },
  {
    id: '69091246-20e8-4a56-aa4d-066075b2a7a8',
    name: { en: 'Teams Administrator', de: 'Teams-Administrator' },
    description: { en: 'Manage Microsoft Teams: teams, meetings, calling and policies.', de: 'Microsoft Teams verwalten: Teams, Besprechungen, Telefonie und Richtlinien.' },
  },
  {
    id: '5d6b6bb7-de71-4623-b4af-96380a352509',
    name: { en: 'Security Reader', de: 'Sicherheitsleseberechtigter' },
    description: { en: 'Read security reports, alerts and settings, but change nothing.', de: 'Sicherheitsberichte, Warnungen und Einstellungen lesen, aber nichts ändern.' },
  },
  {
    id: '5f2222b1-57c3-48ba-8ad5-d4759f1fde6f',
    name: { en: 'Security Operator', de: 'Sicherheitsoperator' },
    description: { en: 'Investigate and respond to security alerts and incidents.', de: 'Sicherheitswarnungen und Vorfälle untersuchen und darauf reagieren.' },
  },
  {
    id: '194ae4cb-b126-40b2-bd5b-6091b380977d',
    name: { en: 'Security Administrator', de: 'Sicherheitsadministrator' },
    description: { en: 'Manage security settings and policies, and read security reports.', de: 'Sicherheitseinstellungen und -richtlinien verwalten und Sicherheitsberichte lesen.' },
  },
  {
    id: 'f023fd81-a637-4b56-95fd-791ac0226033',
    name: { en: 'Service Support Administrator', de: 'Dienstsupportadministrator' },
    description: { en: 'Open and manage support requests with Microsoft and read service health.', de: 'Supportanfragen bei Microsoft stellen und verwalten und den Dienststatus lesen.' },
  },
  {
    id: '7698a772-787b-4ac8-901f-60d6b08affd2',
    name: { en: 'Cloud Device Administrator', de: 'Cloudgeräteadministrator' },
    description: { en: 'Enable, disable and delete devices in Microsoft Entra ID.', de: 'Geräte in Microsoft Entra ID aktivieren, deaktivieren und löschen.' },
  },
  {
    id: '3a2c62db-5318-420d-8d74-23affee5d9d5',
    name: { en: 'Intune Administrator', de: 'Intune-Administrator' },
    description: { en: 'Manage devices, apps and their policies in Microsoft Intune.', de: 'Geräte, Apps und deren Richtlinien in Microsoft Intune verwalten.' },
  },
  {
    id: '9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3',
    name: { en: 'Application Administrator', de: 'Anwendungsadministrator' },
    description: { en: 'Add and manage app registrations and enterprise apps.', de: 'App-Registrierungen und Unternehmens-Apps hinzufügen und verwalten.' },
  },
  {
    id: 'b0f54661-2d74-4c50-afa3-1ec803f12efe',
    name: { en: 'Billing Administrator', de: 'Abrechnungsadministrator' },
    description: { en: 'Make purchases, manage subscriptions and support requests, and see invoices.', de: 'Käufe tätigen, Abonnements und Supportanfragen verwalten und Rechnungen einsehen.' },
  },
  {
    id: GLOBAL_ADMINISTRATOR,
    name: { en: 'Global Administrator', de: 'Globaler Administrator' },
    description: { en: 'Full control over everything in the organization, including all other administrators.', de: 'Vollständige Kontrolle über alles in der Organisation, auch über alle anderen Administratoren.' },
  },
];

const ROLES_BY_ID = new Map(ENTRA_ROLES.map((role) => [role.id, role]));

export function entraRole(id: string): EntraRole | undefined {
  return ROLES_BY_ID.get(id.toLowerCase());
}

export const TEMPLATE_IDS = ['helpdesk', 'usersAndLicenses', 'securityOperations', 'fullAdministration'] as const;
export type TemplateId = (typeof TEMPLATE_IDS)[number];

export interface RoleTemplate {
  id: TemplateId;
  name: { en: string; de: string };
  roleIds: readonly string[];
  /** Shown with the template: Microsoft recommends granting the fewest roles that do the job. */
  leastPrivilegeWarning: boolean;
}

const roleId = (name: string): string => ENTRA_ROLES.find((role) => role.name.en === name)!.id;

export const ROLE_TEMPLATES: readonly RoleTemplate[] = [
  {
    id: 'helpdesk',
    name: { en: 'Helpdesk', de: 'Helpdesk' },
    roleIds: [roleId('Directory Readers'), roleId('Helpdesk Administrator'), roleId('Service Support Administrator')],
    leastPrivilegeWarning: false,
  },
  {
    id: 'usersAndLicenses',
    name: { en: 'Users and licenses', de: 'Benutzer und Lizenzen' },
    roleIds: [roleId('Directory Readers'), USER_ADMINISTRATOR, roleId('License Administrator')],
    leastPrivilegeWarning: false,
  },
  {
    id: 'securityOperations',
    name: { en: 'Security operations', de: 'Sicherheitsbetrieb' },
    roleIds: [roleId('Global Reader'), roleId('Security Reader'), roleId('Security Operator'), roleId('Security Administrator')],
    leastPrivilegeWarning: false,
  },
  {
    id: 'fullAdministration',
    name: { en: 'Full administration', de: 'Vollständige Verwaltung' },
    roleIds: [GLOBAL_ADMINISTRATOR],
    leastPrivilegeWarning: true,
  },
];

export function roleTemplate(templateId: string): RoleTemplate | undefined {
  return ROLE_TEMPLATES.find((template) => template.id === templateId);
}
