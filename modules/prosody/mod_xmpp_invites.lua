-- mod_xmpp_invites: this server's invites come from the xmpp-invites service.
--
-- Apps that open an invite URI (Conversations, Monal, Siskin, ...) talk to
-- the XMPP server: they send the token in a preauth IQ and register in-band
-- (XEP-0401, XEP-0445, XEP-0077), or send a subscription carrying the token
-- (XEP-0379). This module answers them by asking the service
-- (modules/README.md), so invites, their exactly-once redemption and roster
-- pre-approval live in one place. Accounts are created by the service's
-- redeem (through its admin connection to this server), never here.
--
-- Replaces mod_invites, mod_invites_register and mod_invites_adhoc.
-- Loads on Prosody 0.12 and 13.

local st = require "util.stanza";
local async = require "util.async";
local promise = require "util.promise";
local http = require "net.http";
local json = require "util.json";
local timer = require "util.timer";
local dataforms = require "util.dataforms";
local jid_util = require "util.jid";
local nodeprep = require "util.encodings".stringprep.nodeprep;
local new_throttle = require "util.throttle".create;
local new_cache = require "util.cache".new;
local rostermanager = require "core.rostermanager";
local usermanager = require "core.usermanager";
local modulemanager = require "core.modulemanager";

local xmlns_pars = "urn:xmpp:pars:0";
local xmlns_register = "jabber:iq:register";

-- Settings ------------------------------------------------------------------

local service_url = (module:get_option_string("xmpp_invites_url", "")):gsub("/+$", "");
local service_key = module:get_option_string("xmpp_invites_key");
local timeout = module:get_option_number("xmpp_invites_timeout", 5);
-- Creating an account includes the service's own calls to this server, which
-- it bounds itself; waiting less would tell the app "try later" about a
-- registration that then succeeds.
local register_timeout = module:get_option_number("xmpp_invites_register_timeout", 3 * timeout);
local ca_file = module:get_option_string("xmpp_invites_ca_file");
local ca_path = module:get_option_string("xmpp_invites_ca_path", "/etc/ssl/certs");
local invite_only = module:get_option_boolean("registration_invite_only", true);
local allow_registration = module:get_option_boolean("allow_registration", false);
local max_live_invites = module:get_option_number("xmpp_invites_max_live_invites", 10);
local preauth_per_minute = module:get_option_number("xmpp_invites_preauth_per_minute", 12);

-- The host of an http:// URL, if it is loopback: 127.0.0.0/8, ::1 or localhost.
local function loopback_host(url)
	local authority = url:match("^[Hh][Tt][Tt][Pp]://([^/?#]*)");
	if not authority then return nil; end
	authority = authority:gsub("^.*@", ""):lower();
	local host = authority:match("^%[([^%]]+)%]") or authority:gsub(":%d*$", "");
	if host == "localhost" or host == "::1" or host == "0:0:0:0:0:0:0:1" then return host; end
	local a, b, c, d = host:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$");
	if a and tonumber(a) == 127 and tonumber(b) <= 255 and tonumber(c) <= 255 and tonumber(d) <= 255 then return host; end
	return nil;
end

local configured = service_url:match("^https?://") and type(service_key) == "string" and service_key ~= "";
if not configured then
	module:log("error", "xmpp_invites_url and xmpp_invites_key must be set: every invite answer will be 'try later' until they are");
elseif service_url:match("^http://") and not loopback_host(service_url) then
	-- The key, every token and every new password would cross the network in clear.
	configured = false;
	module:log("error", "xmpp_invites_url is refused: plain http:// is allowed only to a loopback host (127.0.0.0/8, ::1, localhost); "
		.. "use https:// (every invite answer will be 'try later' until then)");
end

-- Modules this one replaces -------------------------------------------------

local replaced = { invites = true, invites_register = true, invites_adhoc = true };
local function warn_replaced(name)
	module:log("warn", "mod_%s is loaded next to mod_xmpp_invites on %s: mod_xmpp_invites replaces mod_invites, "
		.. "mod_invites_register and mod_invites_adhoc; remove mod_%s from modules_enabled (its invites are not "
		.. "the service's, and it may refuse or answer registrations in this module's place)", name, module.host, name);
end
for name in pairs(replaced) do
	if modulemanager.is_loaded(module.host, name) then warn_replaced(name); end
end
-- Loaded later (modules_enabled order, or by hand): fired on the host's events.
module:hook("module-loaded", function (event)
	if replaced[event.module] then warn_replaced(event.module); end
end);

-- The service ---------------------------------------------------------------

local http_client = http.new({
	sslctx = {
		mode = "client"; protocol = "sslv23"; options = { "no_sslv2", "no_sslv3" };
		verify = "peer"; cafile = ca_file; capath = (not ca_file) and ca_path or nil;
	};
});

-- Every request to the service: a JSON POST with the module's key. Tokens
-- travel in the body only, and the client is told to keep the URL out of
-- its log.
local function service_request(path, body, callback)
	return http_client:request(service_url .. path, {
		method = "POST";
		body = json.encode(body);
		headers = {
			["Content-Type"] = "application/json";
			["Accept"] = "application/json";
			["Authorization"] = "Bearer " .. service_key;
		};
		suppress_url = true;
		suppress_errors = true;
	}, callback);
end

-- POSTs JSON to the service and waits (only this session's runner pauses)
-- at most `seconds`. Returns the HTTP status (0 for no answer) and the
-- decoded body.
local function call(path, body, seconds)
	if not configured then return 0, nil, "not configured"; end
	if not async.ready() then return 0, nil, "not in an async context"; end
	local settled = false;
	local request, deadline;
	local answer = promise.new(function (resolve)
		request = service_request(path, body, function (response_body, code)
			if settled then return; end
			settled = true;
			if deadline then timer.stop(deadline); end
			resolve({ code = code, body = response_body });
		end);
		-- net.http has no request timeout of its own in 0.12.
		deadline = timer.add_task(seconds, function ()
			if settled then return; end
			settled = true;
			resolve({ code = 0, body = "timeout" });
			-- Drop the connection rather than wait for an answer nobody reads.
			if request and request.conn and http.destroy_request then pcall(http.destroy_request, request); end
		end);
	end);
	local result = async.wait_for(answer);
	if not result or type(result.code) ~= "number" or result.code == 0 then
		return 0, nil, result and result.body or "no answer";
	end
	local decoded = type(result.body) == "string" and json.decode(result.body) or nil;
	if type(decoded) ~= "table" then decoded = nil; end
	return result.code, decoded;
end

local function error_code(status, body)
	if status == 0 then return "unreachable"; end
	if body and type(body.error) == "string" then return body.error; end
	return "http-" .. status;
end

-- A misconfigured key or domain is the operator's problem, said once per call
-- in the log (never with the token); the app only gets "try later".
local function log_setup_problem(status, code)
	if status == 401 then
		module:log("error", "The service refused xmpp_invites_key (%s): create one with `invites-admin keys create --xmpp-server --domain %s`", code, module.host);
	elseif status == 403 and code == "forbidden" then
		module:log("error", "The service's key does not cover %s (%s)", module.host, code);
	elseif status == 0 then
		module:log("warn", "The invite service did not answer (%s)", code);
	elseif status >= 500 then
		module:log("warn", "The invite service failed (%s)", code);
	end
end

-- What a token may look like before it is worth a call.
local function plausible_token(token)
	return type(token) == "string" and #token >= 8 and #token <= 256 and not token:find("[^%w_%-]");
end

-- Stream features -----------------------------------------------------------

local feature_invite = st.stanza("register", { xmlns = "urn:xmpp:invite" }):up();
local feature_ibr_token = st.stanza("register", { xmlns = "urn:xmpp:ibr-token:0" }):up();
local feature_iq_register = st.stanza("register", { xmlns = "http://jabber.org/features/iq-register" }):up();

-- Offered to unauthenticated, encrypted streams only: a token must never
-- cross the network in clear.
module:hook("stream-features", function (event)
	local session, features = event.origin, event.features;
	if session.type ~= "c2s_unauthed" or not session.secure or session.host ~= module.host then return; end
	features:add_child(feature_invite);
	features:add_child(feature_ibr_token);
	-- mod_register_ibr advertises it too when allow_registration is on.
	if not features:get_child("register", "http://jabber.org/features/iq-register") then
		features:add_child(feature_iq_register);
	end
end, -10);

-- Preauth (XEP-0401 / XEP-0445) ---------------------------------------------

-- A rate per key and minute (0 or less: none), the keys' throttles in a
-- bounded cache. Returns whether one more is allowed for `key`.
local function rate_per_minute(per_minute)
	local throttles = new_cache(1000);
	return function (key)
		if per_minute <= 0 then return true; end
		local throttle = throttles:get(key);
		if not throttle then
			throttle = new_throttle(per_minute, 60);
			throttles:set(key, throttle);
		end
		return throttle:poll(1);
	end;
end

local preauth_rate = rate_per_minute(preauth_per_minute);
local function preauth_allowed(ip)
	return preauth_rate(ip or "unknown");
end

-- Refuses what this module must not serve: authenticated or plaintext
-- streams, and streams opened to another host of this server.
local function refuse_session(session, stanza)
	if session.type ~= "c2s_unauthed" or session.host ~= module.host then
		session.send(st.error_reply(stanza, "cancel", "service-unavailable"));
		return true;
	end
	if not session.secure then
		session.send(st.error_reply(stanza, "modify", "policy-violation", "Encryption is required"));
		return true;
	end
end

local INVALID_TOKEN = "Invalid or expired invite token";

module:hook("stanza/iq/" .. xmlns_pars .. ":preauth", function (event)
	local session, stanza = event.origin, event.stanza;
	if refuse_session(session, stanza) then return true; end
	if stanza.attr.type ~= "set" then
		session.send(st.error_reply(stanza, "modify", "bad-request"));
		return true;
	end
	-- A failed check forgets any earlier invite of this stream.
	session.xmpp_invites_invite = nil;
	if not preauth_allowed(session.ip) then
		session.log("info", "Too many invite checks from %s", session.ip or "an unknown address");
		session.send(st.error_reply(stanza, "wait", "resource-constraint", "Too many attempts, try again later"));
		return true;
	end
	local token = stanza.tags[1].attr.token;
	if not plausible_token(token) then
		session.send(st.error_reply(stanza, "cancel", "item-not-found", INVALID_TOKEN));
		return true;
	end
	local status, body = call("/xmpp/preauth", { token = token, domain = module.host, address = session.ip }, timeout);
	if status == 200 and body and body.domain == module.host then
		session.xmpp_invites_invite = {
			token = token;
			type = body.type;
			inviter = type(body.inviter) == "string" and body.inviter or nil;
			username = type(body.username) == "string" and body.username or nil;
		};
		session.log("debug", "Invite checked: a %s invite", tostring(body.type));
		session.send(st.reply(stanza));
		return true;
	end
	local code = error_code(status, body);
	log_setup_problem(status, code);
	session.log("debug", "Invite check refused: %s", code);
	if status == 0 or status >= 500 or status == 401 or status == 429 then
		session.send(st.error_reply(stanza, "wait", "resource-constraint", "The invite service is busy, try again later"));
	else
		session.send(st.error_reply(stanza, "cancel", "item-not-found", INVALID_TOKEN));
	end
	return true;
end, 10);

-- In-band registration (XEP-0077) -------------------------------------------

local registration_form = dataforms.new({
	title = "Creating a new account";
	instructions = "Choose a username and password for use with this service.";
	{ name = "FORM_TYPE", type = "hidden", value = xmlns_register };
	{ name = "username", type = "text-single", label = "Username", required = true };
	{ name = "password", type = "text-private", label = "Password", required = true };
});

local function registration_query(invite)
	-- A preset username (an invite for juliet@, or a reset) is filled in, in
	-- the legacy <username/> (apps that read only the legacy fields) and in
	-- the x:data form alike.
	local preset = invite and invite.username or nil;
	local query = st.stanza("query", { xmlns = xmlns_register })
		:text_tag("instructions", "Choose a username and password for use with this service.")
		:text_tag("username", preset or "")
		:tag("password"):up();
	query:add_child(registration_form:form({ username = preset }));
	return query;
end

local function parse_registration(query)
	local form = query:get_child("x", "jabber:x:data");
	if form then
		local data, errors = registration_form:data(form);
		return data or {}, errors;
	end
	local data, errors = {}, nil;
	for _, name in ipairs({ "username", "password" }) do
		data[name] = query:get_child_text(name);
		if not data[name] or data[name] == "" then
			errors = errors or {};
			errors[name] = "Required value missing";
		end
	end
	return data, errors;
end

-- Service codes -> what the apps understand (modules/README.md).
local register_errors = {
	["username-taken"] = { "cancel", "conflict", "The requested username already exists." };
	-- RESERVED_USERNAMES: not the user's to have; the app asks for another name, as for a taken one.
	["username-reserved"] = { "cancel", "conflict", "The requested username is reserved." };
	["password-weak"] = { "modify", "not-acceptable", "The password is too weak" };
	["username-invalid"] = { "modify", "not-acceptable", "The requested username is invalid." };
	["username-required"] = { "modify", "not-acceptable", "The requested username is invalid." };
	["username-mismatch"] = { "modify", "not-acceptable", "This invite is for another username" };
	["registration-closed"] = { "modify", "not-acceptable", "Registration on this server is through invitation only" };
	["invalid-request"] = { "modify", "not-acceptable", "The registration is not acceptable" };
	["rate-limited"] = { "wait", "resource-constraint", "Too many attempts, try again later" };
	["redemption-in-progress"] = { "wait", "resource-constraint", "This invite is being used right now, try again shortly" };
	["token-invalid"] = { "cancel", "item-not-found", INVALID_TOKEN };
	["token-expired"] = { "cancel", "item-not-found", INVALID_TOKEN };
	["token-used"] = { "cancel", "item-not-found", INVALID_TOKEN };
	["token-revoked"] = { "cancel", "item-not-found", INVALID_TOKEN };
};
local TRY_LATER = { "wait", "internal-server-error", "The service is unavailable, try again later" };

module:hook("stanza/iq/" .. xmlns_register .. ":query", function (event)
	local session, stanza = event.origin, event.stanza;
	if refuse_session(session, stanza) then return true; end
	local invite = session.xmpp_invites_invite;

	if stanza.attr.type == "get" then
		local reply = st.reply(stanza);
		reply:add_child(registration_query(invite));
		session.send(reply);
		return true;
	end

	local query = stanza.tags[1];
	if query:get_child("remove") then
		session.send(st.error_reply(stanza, "auth", "registration-required"));
		return true;
	end
	-- One account per stream: a stream that registered goes on to log in.
	if session.xmpp_invites_registered then
		session.send(st.error_reply(stanza, "cancel", "not-allowed", "An account was already registered on this stream"));
		return true;
	end

	local data, errors = parse_registration(query);
	if errors then
		local texts = {};
		for field, err in pairs(errors) do
			texts[#texts + 1] = ("%s: %s"):format(field:gsub("^%a", string.upper), tostring(err));
		end
		table.sort(texts);
		session.send(st.error_reply(stanza, "modify", "not-acceptable", table.concat(texts, "\n")));
		return true;
	end
	local username, password = nodeprep(data.username, true), data.password;
	if not username or username == "" then
		session.send(st.error_reply(stanza, "modify", "not-acceptable", "The requested username is invalid."));
		return true;
	end
	if type(password) ~= "string" or password == "" then
		session.send(st.error_reply(stanza, "modify", "not-acceptable", "Password: Required value missing"));
		return true;
	end

	if not invite and (invite_only or not allow_registration) then
		session.send(st.error_reply(stanza, "modify", "not-acceptable", "Registration on this server is through invitation only"));
		return true;
	end

	-- Other modules (limits, blocklists) may still veto, as with mod_register_ibr.
	local user = { username = username, host = module.host, additional = {}, ip = session.ip, session = session, allowed = true };
	module:fire_event("user-registering", user);
	if not user.allowed then
		local err = user.error;
		local err_type, condition, text;
		if err then
			err_type, condition, text = err.type, err.condition, err.text;
		else
			err_type, condition, text = user.error_type, user.error_condition, user.reason;
		end
		session.send(st.error_reply(stanza, err_type or "modify", condition or "not-acceptable", text));
		return true;
	end

	local status, body = call("/xmpp/register", {
		token = invite and invite.token or nil;
		domain = module.host;
		username = username;
		password = password;
		address = session.ip;
	}, register_timeout);

	if status == 201 and body and type(body.jid) == "string" then
		-- The invite is spent: this stream may not use it again.
		session.xmpp_invites_invite = nil;
		session.xmpp_invites_registered = true;
		session.send(st.reply(stanza));
		local node = jid_util.split(body.jid);
		node = node or username;
		if body.outcome == "reset" then
			session.log("info", "Password of %s@%s reset through an invite", node, module.host);
			module:fire_event("user-password-reset", { username = node, host = module.host, session = session, source = "mod_xmpp_invites" });
		else
			session.log("info", "Account %s@%s created %s", node, module.host, invite and "through an invite" or "by open registration");
			module:fire_event("user-registered", {
				username = node; host = module.host; source = "mod_xmpp_invites"; session = session; ip = session.ip;
				invite_type = invite and invite.type or nil; inviter = invite and invite.inviter or nil;
			});
		end
		return true;
	end

	local code = error_code(status, body);
	log_setup_problem(status, code);
	session.log("debug", "Registration refused: %s", code);
	local answer = register_errors[code] or TRY_LATER;
	if answer[2] == "item-not-found" then session.xmpp_invites_invite = nil; end
	session.send(st.error_reply(stanza, answer[1], answer[2], answer[3]));
	return true;
end, 10);

-- XEP-0379: a subscription carrying a contact invite's token ----------------

-- Subscriptions carrying a token, per sender: a local account by its JID, a
-- remote one by its server (which can make any number of JIDs). Past the rate
-- the service is not asked: the request is left to the user, as for any
-- unknown subscription, so tokens cannot be guessed through this server.
local subscribe_per_minute = module:get_option_number("xmpp_invites_subscribe_per_minute", 6);
local subscribe_rate = rate_per_minute(subscribe_per_minute);
local function subscribe_allowed(origin, subscriber)
	return subscribe_rate((origin and origin.type == "c2s") and subscriber or select(2, jid_util.split(subscriber)));
end

module:hook("presence/bare", function (event)
	local origin, stanza = event.origin, event.stanza;
	if stanza.attr.type ~= "subscribe" then return; end
	local preauth = stanza:get_child("preauth", xmlns_pars);
	if not preauth then return; end
	local token = preauth.attr.token;
	-- Whatever happens next, the token goes no further: not into the
	-- contact's pending requests, not to their clients, not into any log.
	stanza:maptags(function (tag)
		if tag.name == "preauth" and tag.attr.xmlns == xmlns_pars then return nil; end
		return tag;
	end);

	local contact_node, contact_host = jid_util.split(stanza.attr.to);
	local subscriber = jid_util.bare(stanza.attr.from);
	if not contact_node or contact_host ~= module.host or not subscriber or not plausible_token(token) then return; end
	local contact = contact_node .. "@" .. contact_host;
	if subscriber == contact then return; end
	-- Already approved (e.g. right after an ibr=y registration): mod_presence
	-- answers `subscribed` as for any repeated request. Read from the stored
	-- roster: is_contact_subscribed() may answer from the subscriber's online
	-- roster instead.
	local contact_roster = rostermanager.load_roster(contact_node, contact_host);
	local item = contact_roster and contact_roster[subscriber];
	if item and (item.subscription == "from" or item.subscription == "both") then return; end
	if not async.ready() then
		module:log("debug", "Subscription with a token outside a session's runner: left to the user");
		return;
	end
	if not subscribe_allowed(origin, subscriber) then
		module:log("info", "Too many subscriptions with invite tokens from %s: left to the user", subscriber);
		return;
	end

	local status, body = call("/xmpp/subscribe", {
		token = token; domain = module.host; contact = contact; subscriber = subscriber;
		address = origin and origin.type == "c2s" and origin.ip or nil;
	}, timeout);
	if not (status == 200 and body and body.approved == true) then
		-- XEP-0379: an invalid token means manual approval.
		log_setup_problem(status, error_code(status, body));
		module:log("debug", "Subscription from %s to %s not pre-approved (%s)", subscriber, contact, error_code(status, body));
		return;
	end

	module:log("info", "Subscription from %s to %s approved by a contact invite", subscriber, contact);
	if not (rostermanager.set_contact_pending_in(contact_node, contact_host, subscriber)
		and rostermanager.subscribed(contact_node, contact_host, subscriber)) then
		module:log("warn", "Could not store the approval of %s in the roster of %s: left to the user", subscriber, contact);
		return;
	end
	rostermanager.roster_push(contact_node, contact_host, subscriber);
	-- Answered here rather than by mod_presence, which may judge from the
	-- subscriber's online roster (not yet updated) and only acknowledge.
	module:send(st.presence({ type = "subscribed", from = contact, to = subscriber }));
	local sent = 0;
	local sessions = prosody.bare_sessions[contact];
	for _, session in pairs(sessions and sessions.sessions or {}) do
		if session.presence then
			local presence = st.clone(session.presence);
			presence.attr.from, presence.attr.to = session.full_jid, subscriber;
			module:send(presence);
			sent = sent + 1;
		end
	end
	if sent == 0 then module:send(st.presence({ type = "unavailable", from = contact, to = subscriber })); end
	-- Subscribe back, so both end at `both` once the subscriber's app approves
	-- (it asked first; the apps approve at once).
	if not rostermanager.is_user_subscribed(contact_node, contact_host, subscriber)
	and not rostermanager.is_contact_pending_out(contact_node, contact_host, subscriber) then
		if rostermanager.set_contact_pending_out(contact_node, contact_host, subscriber) then
			rostermanager.roster_push(contact_node, contact_host, subscriber);
			module:send(st.presence({ type = "subscribe", from = contact, to = subscriber }));
		end
	end
	return true;
end, 1);

-- XEP-0401 ad-hoc commands: invites created from an app ---------------------

local function is_admin(jid)
	local node = jid_util.split(jid);
	if usermanager.get_user_role then -- Prosody 13
		local role = node and usermanager.get_user_role(node, module.host);
		return role ~= nil and (role.name == "prosody:admin" or role.name == "prosody:operator");
	end
	return usermanager.is_admin and usermanager.is_admin(jid, module.host) or false;
end

local function has_role(jid, role_name)
	local node = jid_util.split(jid);
	if usermanager.user_can_assume_role then -- Prosody 13
		return node and usermanager.user_can_assume_role(node, module.host, role_name) or false;
	end
	local roles = usermanager.get_roles and usermanager.get_roles(jid, module.host);
	return type(roles) == "table" and roles[role_name] and true or false;
end

-- Who may run each command. A policy is "local_users" (every user of this
-- host, bounded by xmpp_invites_max_live_invites), "admins", "nobody", or a
-- list of bare JIDs and roles (admins always may):
--   xmpp_invites_allow_invite          default "local_users"
--   xmpp_invites_allow_create_account  default "admins"
-- The same defaults as ejabberd's invite_access / create_account_access.
local function read_policy(setting, value)
	if value == "local_users" or value == "everyone" then return { kind = "local_users" }; end
	if value == "admins" then return { kind = "admins" }; end
	if value == "nobody" then return { kind = "nobody" }; end
	if type(value) == "table" then
		local policy = { kind = "list", jids = {}, roles = {} };
		for _, entry in ipairs(value) do
			if type(entry) == "string" and entry:find("@", 1, true) then
				policy.jids[jid_util.prep(entry) or entry] = true;
			elseif type(entry) == "string" then
				policy.roles[entry] = true;
			end
		end
		return policy;
	end
	module:log("error", "%s must be \"local_users\", \"admins\", \"nobody\" or a list of JIDs and roles; nobody may run that command", setting);
	return { kind = "nobody" };
end

local invite_setting = module:get_option("xmpp_invites_allow_invite");
local obsolete_setting = module:get_option("xmpp_invites_allow_create");
if obsolete_setting ~= nil then
	-- It used to cover both commands. Kept for the contact invite only, where
	-- it never widens what it allowed; create-account has its own setting.
	if invite_setting == nil then
		invite_setting = obsolete_setting;
		module:log("warn", "xmpp_invites_allow_create is obsolete: read as xmpp_invites_allow_invite; "
			.. "urn:xmpp:invite#create-account follows xmpp_invites_allow_create_account (default \"admins\")");
	else
		module:log("warn", "xmpp_invites_allow_create is obsolete and ignored: xmpp_invites_allow_invite "
			.. "and xmpp_invites_allow_create_account are set per command");
	end
end
local invite_policy = read_policy("xmpp_invites_allow_invite", invite_setting or "local_users");
local create_account_policy = read_policy("xmpp_invites_allow_create_account",
	module:get_option("xmpp_invites_allow_create_account", "admins"));

local function allowed_by(policy, jid)
	local node, host = jid_util.split(jid);
	if not node or host ~= module.host then return false; end
	if policy.kind == "nobody" then return false; end
	if policy.kind == "local_users" then return true; end
	if is_admin(jid) then return true; end
	if policy.kind == "admins" then return false; end
	if policy.jids[jid] then return true; end
	for role_name in pairs(policy.roles) do
		if has_role(jid, role_name) then return true; end
	end
	return false;
end

local result_form = dataforms.new({
	title = "Your invite has been created";
	{ name = "uri", label = "Invite URI", desc = "This link can be opened with some XMPP clients" };
	{ name = "landing-url", label = "Invite web page", desc = "Share this link" };
	{ name = "expire", label = "Invite valid until" };
});

local create_account_form = dataforms.new({
	title = "Create an account invite";
	instructions = "The invite lets one person create the account with this username.";
	{ name = "username", type = "text-single", label = "Username", required = true };
	{ name = "roster-subscription", type = "boolean", label = "Add the new account to my contacts", value = true };
});

local adhoc_errors = {
	["quota-exceeded"] = "You have reached your invite limit (live invites, or invites this week); try again later";
	["username-taken"] = "That username is taken";
	["username-reserved"] = "That username is reserved on this server";
	["username-invalid"] = "That username is not valid";
	["username-required"] = "Choose a username";
	["forbidden"] = "You are not allowed to create invites";
	["inviter-suspended"] = "Your account may not create invites at the moment";
	["invite-depth-exceeded"] = "Your account may not create invites";
	["rate-limited"] = "Too many invites in a short time, try again later";
};

local function completed_error(text)
	return { status = "completed", error = { message = text } };
end

local function forbidden()
	return { status = "error", error = { type = "auth", condition = "forbidden", text = adhoc_errors["forbidden"] } };
end

local function create_invite(from, policy, request)
	local user = jid_util.bare(from);
	if not allowed_by(policy, user) then return forbidden(); end
	request.domain = module.host;
	request.inviter = user;
	request.maxLiveInvites = max_live_invites > 0 and max_live_invites or nil;
	local status, body = call("/xmpp/invites", request, timeout);
	if status == 201 and body and type(body.uri) == "string" then
		module:log("info", "%s created a %s invite", user, tostring(body.type));
		return {
			status = "completed";
			result = {
				layout = result_form;
				values = { uri = body.uri; ["landing-url"] = body.landingUrl; expire = body.expiresAt };
			};
		};
	end
	local code = error_code(status, body);
	log_setup_problem(status, code);
	module:log("debug", "Invite for %s not created: %s", user, code);
	return completed_error(adhoc_errors[code] or "The invite service is unavailable, try again later");
end

local adhoc_new = module:require("adhoc").new;

module:depends("adhoc");

local NODE_INVITE, NODE_CREATE = "urn:xmpp:invite#invite", "urn:xmpp:invite#create-account";
local policies = { [NODE_INVITE] = invite_policy, [NODE_CREATE] = create_account_policy };

-- mod_adhoc lists, describes (disco#info: identity automation/command-node)
-- and refuses (forbidden) by its own permission: "local_user" or "admin".
-- A list of JIDs and roles is finer than that, so for those commands this
-- module hides and refuses them itself, the way mod_adhoc does.
local function adhoc_permission(policy)
	return policy.kind == "admins" and "admin" or "local_user";
end

module:hook("host-disco-info-node", function (event)
	local policy = policies[event.node];
	if not policy or policy.kind ~= "list" then return; end
	if not allowed_by(policy, jid_util.bare(event.stanza.attr.from)) then
		event.origin.send(st.error_reply(event.stanza, "auth", "forbidden", "This item is not available to you"));
		return true;
	end
end, 10);

module:hook("host-disco-items-node", function (event)
	if event.node ~= "http://jabber.org/protocol/commands" then return; end
	local query = event.reply:get_child("query", "http://jabber.org/protocol/disco#items");
	if not query then return; end
	local user = jid_util.bare(event.stanza.attr.from);
	query:maptags(function (item)
		local policy = item.name == "item" and policies[item.attr.node];
		if policy and policy.kind == "list" and not allowed_by(policy, user) then return nil; end
		return item;
	end);
end, -10);

if invite_policy.kind ~= "nobody" then
	module:provides("adhoc", adhoc_new("Invite someone", NODE_INVITE, function (_, data)
		return create_invite(data.from, invite_policy, { type = "contact" });
	end, adhoc_permission(invite_policy)));
end

if create_account_policy.kind ~= "nobody" then
	module:provides("adhoc", adhoc_new("Create an account invite", NODE_CREATE, function (_, data, state)
		if data.action == "cancel" then return { status = "canceled" }; end
		if not allowed_by(create_account_policy, jid_util.bare(data.from)) then return forbidden(); end
		if not (state or data.form) then
			return { status = "executing", actions = { "complete", default = "complete" }, form = create_account_form }, "executing";
		end
		local fields, errors = create_account_form:data(data.form);
		if errors or not fields or type(fields.username) ~= "string" or fields.username == "" then
			return completed_error(adhoc_errors["username-required"]);
		end
		local username = nodeprep(fields.username, true);
		if not username or username == "" then
			return completed_error(adhoc_errors["username-invalid"]);
		end
		return create_invite(data.from, create_account_policy, {
			type = "account";
			username = username;
			rosterSubscription = fields["roster-subscription"] ~= false;
		});
	end, adhoc_permission(create_account_policy)));
end

-- Deleted accounts ------------------------------------------------------------

-- An account deleted here (prosodyctl deluser, XEP-0133, in-band removal)
-- must not leave live invites naming it as inviter: the next account made
-- with one would be linked to a name that may later be someone else's. The
-- service revokes them and keeps the account's lineage record, marked deleted.
-- Sent in the background (the deletion never waits on the service), retried
-- a few times if the service does not answer.
local deleted_retries = module:get_option_number("xmpp_invites_deleted_retries", 3);

local function report_deleted(jid, attempt)
	if not configured then return; end
	service_request("/xmpp/account-deleted", { domain = module.host; jid = jid }, function (response_body, code)
		if code == 200 then
			local body = type(response_body) == "string" and json.decode(response_body) or nil;
			module:log("info", "Reported the deletion of %s: %s live invite(s) revoked", jid, tostring(type(body) == "table" and body.revoked or "?"));
			return;
		end
		local transient = type(code) ~= "number" or code == 0 or code == 429 or code >= 500;
		if transient and attempt < deleted_retries then
			timer.add_task(5 * attempt, function () report_deleted(jid, attempt + 1); end);
			return;
		end
		module:log("error", "Could not report the deletion of %s to the invite service (HTTP %s): its live invites stay valid until revoked", jid, tostring(code));
	end);
end

module:hook_global("user-deleted", function (event)
	if event.host ~= module.host or type(event.username) ~= "string" then return; end
	report_deleted(event.username .. "@" .. event.host, 1);
end);
