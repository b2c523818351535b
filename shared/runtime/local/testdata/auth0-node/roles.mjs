// Drives the admin API's roles routes with Auth0's Node SDK
// (ManagementClient, npm "auth0"), as a team moving from Auth0 would.
// Input (argv[2], JSON): domain (host:port of the https server), token (an
// admin access token), api (an RBAC API's identifier), user (a user id).
// Prints one JSON object of what the server answered.
import { ManagementClient } from "auth0";

const input = JSON.parse(process.argv[2]);
const m = new ManagementClient({ domain: input.domain, token: input.token });
const perm = { resource_server_identifier: input.api, permission_name: "read:billing" };
const out = {};

const role = await m.roles.create({ name: "billing reader", description: "Reads invoices" });
out.created = role;
await m.roles.permissions.add(role.id, { permissions: [perm] });
out.permissions = (await m.roles.permissions.list(role.id)).data;
await m.roles.users.assign(role.id, { users: [input.user] });
out.roleUsers = (await m.roles.users.list(role.id)).data.map((u) => u.user_id);
out.userRoles = (await m.users.roles.list(input.user)).data.map((r) => r.name);
out.updated = await m.roles.update(role.id, { description: "Reads and lists invoices" });
out.roles = (await m.roles.list()).data.map((r) => r.name);
await m.users.roles.delete(input.user, { roles: [role.id] });
out.userRolesAfter = (await m.users.roles.list(input.user)).data.map((r) => r.name);
await m.users.permissions.create(input.user, { permissions: [perm] });
out.userPermissions = (await m.users.permissions.list(input.user)).data.map((p) => p.permission_name);
await m.roles.delete(role.id);
try {
  await m.roles.get(role.id);
  out.afterDelete = "found";
} catch (e) {
  out.afterDelete = e.statusCode;
}
console.log(JSON.stringify(out));
