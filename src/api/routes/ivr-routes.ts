import { z } from 'zod';
import { IvrMenuSet, ivrMenuFromRecord, ivrMenuSchema, ivrMenuToRecord, type IvrMenuIssue } from '../../call';
import type { IvrMenuRecord, NewIvrMenu } from '../../store';
import { ApiError } from '../api-error';
import { defineRoute, type RouteDefinition } from '../route-definition';
import { AUTH_RESPONSES, NOT_FOUND_RESPONSE, VALIDATION_RESPONSE, errorSchema } from './common-schemas';

/** The menus store the IVR API needs (IvrMenuRepository). */
export interface IvrMenuStore {
  save(menu: NewIvrMenu): Promise<IvrMenuRecord>;
  get(id: string): Promise<IvrMenuRecord | undefined>;
  getByName(name: string): Promise<IvrMenuRecord | undefined>;
  list(): Promise<IvrMenuRecord[]>;
  delete(id: string): Promise<boolean>;
}

export interface IvrRouteDeps {
  /** Absent: the routes answer 503 ivr_unavailable. */
  menus?: IvrMenuStore;
}

const TAG = 'IVR';
const menuRef = z.object({ menu_id: z.string().min(1).max(100) });

/**
 * A stored menu as the API shows it: the menu document (the IVR's own field names, as accepted on input) plus the
 * row's id and timestamps. Numbers route to it with `ivr:<id>`.
 */
const menuSchema = z.object({ id: z.string(), menu: z.record(z.string(), z.unknown()), created_at: z.string(), updated_at: z.string() }).loose();
const menuListSchema = z.object({ items: z.array(menuSchema) });

function menuJson(r: IvrMenuRecord): z.infer<typeof menuSchema> {
  return { id: r.id, name: r.name, menu: ivrMenuFromRecord(r), created_at: r.createdAt.toISOString(), updated_at: r.updatedAt.toISOString() };
}

function unavailable(): ApiError {
  return new ApiError(503, 'ivr_unavailable', 'IVR menus are not available on this server');
}

function issueError(issues: readonly IvrMenuIssue[], prefix = ''): ApiError {
  const first = issues[0];
  const field = first ? `${prefix}${first.path}` : prefix || 'body';
  return ApiError.validation(field, issues.map((i) => `${prefix}${i.path}: ${i.message}`).join('; '));
}

async function find(menus: IvrMenuStore, ref: string): Promise<IvrMenuRecord | undefined> {
  return (await menus.get(ref)) ?? (await menus.getByName(ref));
}

/**
 * The set of every menu once `change` is applied must validate: sub-menu references resolve. A menu may not point
 * at a menu that does not exist, and a menu others point at may not be deleted.
 */
async function checkSet(menus: IvrMenuStore, change: { replace?: Record<string, unknown>; remove?: string }): Promise<void> {
  const rows = await menus.list();
  const docs: unknown[] = [];
  let replaced = false;
  for (const r of rows) {
    if (r.name === change.remove) continue;
    if (change.replace && r.name === change.replace['name']) {
      docs.push(change.replace);
      replaced = true;
    } else docs.push(ivrMenuFromRecord(r));
  }
  if (change.replace && !replaced) docs.push(change.replace);
  if (docs.length === 0) return;
  const r = IvrMenuSet.parse(docs);
  if (r.ok) return;
  // Report the issue of the menu being written, or the dependants a removal would break.
  const named = change.replace ? docs.indexOf(change.replace) : -1;
  const own = r.issues.filter((i) => i.path.startsWith(`menus.${named}.`)).map((i) => ({ ...i, path: i.path.replace(`menus.${named}.`, '') }));
  if (own.length > 0) throw issueError(own);
  throw new ApiError(409, 'conflict', `other menus would break: ${r.issues.map((i) => i.message).join('; ')}`);
}

/** IVR menus: CRUD under /api/ivr/menus (calls:read / calls:write, or admin). */
export function ivrRoutes(deps: IvrRouteDeps): RouteDefinition[] {
  const need = (): IvrMenuStore => {
    if (!deps.menus) throw unavailable();
    return deps.menus;
  };
  return [
    defineRoute({
      method: 'post',
      path: '/api/ivr/menus',
      summary: 'Create an IVR menu',
      description:
        'A menu: prompt (WAV file, { file } or { text, voice } rendered by TTS_COMMAND), options (key sequence -> action: menu, repeat, back, hangup, ai, queue, number, extension, collect), invalidPrompt, timeoutPrompt, timeoutS, interDigitTimeoutS, maxRetries, defaultAction, timeoutAction. Sub-menus are referenced by name and must exist.',
      tag: TAG,
      access: 'calls:write',
      body: z.record(z.string(), z.unknown()),
      responses: { 201: { description: 'Created', schema: menuSchema }, ...VALIDATION_RESPONSE, 409: { description: 'A menu of that name exists', schema: errorSchema }, ...AUTH_RESPONSES },
      handle: async ({ body }) => {
        const menus = need();
        const parsed = ivrMenuSchema.safeParse(body);
        if (!parsed.success) throw issueError(parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })));
        if (await menus.getByName(parsed.data.name)) throw ApiError.conflict('name', `a menu named ${parsed.data.name} exists`);
        await checkSet(menus, { replace: body });
        return { status: 201, body: menuJson(await menus.save(ivrMenuToRecord(parsed.data))) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/ivr/menus',
      summary: 'List IVR menus',
      tag: TAG,
      access: 'calls:read',
      responses: { 200: { description: 'Every menu, by name', schema: menuListSchema }, ...AUTH_RESPONSES },
      handle: async () => ({ status: 200, body: { items: (await need().list()).map(menuJson) } }),
    }),
    defineRoute({
      method: 'get',
      path: '/api/ivr/menus/:menu_id',
      summary: 'Get an IVR menu (by id or name)',
      tag: TAG,
      access: 'calls:read',
      params: menuRef,
      responses: { 200: { description: 'The menu', schema: menuSchema }, ...NOT_FOUND_RESPONSE, ...AUTH_RESPONSES },
      handle: async ({ params }) => {
        const row = await find(need(), params.menu_id);
        if (!row) throw ApiError.notFound(`no IVR menu ${params.menu_id}`);
        return { status: 200, body: menuJson(row) };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/api/ivr/menus/:menu_id',
      summary: 'Replace an IVR menu',
      description: 'The whole menu document; its name cannot change (other menus reference it by name).',
      tag: TAG,
      access: 'calls:write',
      params: menuRef,
      body: z.record(z.string(), z.unknown()),
      responses: { 200: { description: 'Replaced', schema: menuSchema }, ...VALIDATION_RESPONSE, ...NOT_FOUND_RESPONSE, ...AUTH_RESPONSES },
      handle: async ({ params, body }) => {
        const menus = need();
        const row = await find(menus, params.menu_id);
        if (!row) throw ApiError.notFound(`no IVR menu ${params.menu_id}`);
        const doc = { ...body, name: body['name'] ?? row.name };
        const parsed = ivrMenuSchema.safeParse(doc);
        if (!parsed.success) throw issueError(parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })));
        if (parsed.data.name !== row.name) throw ApiError.validation('name', 'a menu cannot be renamed: create a new one and point the options at it');
        await checkSet(menus, { replace: doc });
        return { status: 200, body: menuJson(await menus.save(ivrMenuToRecord(parsed.data))) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/api/ivr/menus/:menu_id',
      summary: 'Delete an IVR menu',
      description: 'Refused (409) while another menu points at it. Numbers routed to it fall back to the default route.',
      tag: TAG,
      access: 'calls:write',
      params: menuRef,
      responses: { 204: { description: 'Deleted' }, ...NOT_FOUND_RESPONSE, 409: { description: 'Other menus point at it', schema: errorSchema }, ...AUTH_RESPONSES },
      handle: async ({ params }) => {
        const menus = need();
        const row = await find(menus, params.menu_id);
        if (!row) throw ApiError.notFound(`no IVR menu ${params.menu_id}`);
        await checkSet(menus, { remove: row.name });
        await menus.delete(row.id);
        return { status: 204 };
      },
    }),
  ];
}
