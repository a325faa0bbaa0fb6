%%%----------------------------------------------------------------------
%%% mod_xmpp_invites: the in-app invite path of xmpp-invites on ejabberd.
%%%
%%% Apps that open an invite URI (Conversations, Monal, Siskin, ...) talk to
%%% this server, not to the invite service: they send the token in a preauth
%%% IQ (XEP-0401/XEP-0445) and register in-band (XEP-0077), or send a
%%% subscription carrying the token (XEP-0379). This module asks the
%%% xmpp-invites service, so the invites, their exactly-once redemption and
%%% roster pre-approval stay in one place (see modules/README.md for the
%%% routes and the error mapping, shared with the Prosody module).
%%%
%%% Built for ejabberd 23.01+ with erlc against ejabberd's and p1_xmpp's
%%% headers; do not load ejabberd 26's own mod_invites next to it.
%%%
%%% Tokens are secrets: they are never logged, and they travel to the
%%% service only in request bodies (never in a URL, which HTTP clients log).
%%%----------------------------------------------------------------------
-module(mod_xmpp_invites).
-behaviour(gen_mod).

-export([start/2, stop/1, reload/3, depends/2, mod_options/1, mod_opt_type/1, mod_doc/0]).
-export([stream_features/2, c2s_unauthenticated_packet/2, in_subscription/2,
         adhoc_local_items/4, adhoc_local_commands/4, disco_local_features/5,
         disco_local_identity/5]).
-export([remove_user/2]).

-include("xmpp.hrl").
-include("logger.hrl").

-define(NS_PARS, <<"urn:xmpp:pars:0">>).
-define(NS_INVITE, <<"urn:xmpp:invite">>).
-define(NS_IBR_TOKEN, <<"urn:xmpp:ibr-token:0">>).
-define(NODE_INVITE, <<"urn:xmpp:invite#invite">>).
-define(NODE_CREATE, <<"urn:xmpp:invite#create-account">>).
%% Where the checked invite lives in the c2s state: our own key, so no other
%% module can mistake it for its own.
-define(STATE_KEY, xmpp_invites_invite).
-define(THROTTLE, mod_xmpp_invites_throttle).

-define(TXT_INVALID, <<"Invalid or expired invite token">>).
-define(TXT_INVITE_ONLY, <<"Registration on this server is through invitation only">>).
%% Conversations shows "weak password" only for these exact texts.
-define(TXT_WEAK, <<"The password is too weak">>).
-define(TXT_WAIT, <<"The invite service is busy, please try again later">>).
-define(TXT_UNAVAILABLE, <<"The invite service is unavailable, please try again later">>).

%%%===================================================================
%%% gen_mod
%%%===================================================================
start(Host, _Opts) ->
    %% httpc lives in inets, which ejabberd starts; make sure anyway.
    {ok, _} = application:ensure_all_started(inets),
    {ok, _} = application:ensure_all_started(ssl),
    ensure_throttle_table(),
    %% Priority 40 on the unauthenticated path: before mod_register (50),
    %% which would otherwise answer jabber:iq:register itself, and long
    %% before ejabberd_c2s's catch-all (100) that rejects unknown IQs.
    ejabberd_hooks:add(c2s_unauthenticated_packet, Host, ?MODULE, c2s_unauthenticated_packet, 40),
    %% After mod_register (50), so we add iq-register only if it did not.
    ejabberd_hooks:add(c2s_pre_auth_features, Host, ?MODULE, stream_features, 60),
    %% After mod_roster (50) has recorded the incoming request: approving it
    %% then moves the contact's item from pending-in to "from".
    ejabberd_hooks:add(roster_in_subscription, Host, ?MODULE, in_subscription, 60),
    ejabberd_hooks:add(adhoc_local_items, Host, ?MODULE, adhoc_local_items, 60),
    ejabberd_hooks:add(adhoc_local_commands, Host, ?MODULE, adhoc_local_commands, 60),
    ejabberd_hooks:add(disco_local_features, Host, ?MODULE, disco_local_features, 60),
    ejabberd_hooks:add(disco_local_identity, Host, ?MODULE, disco_local_identity, 60),
    %% An account deleted here: the service revokes its live invites.
    ejabberd_hooks:add(remove_user, Host, ?MODULE, remove_user, 50),
    warn_conflicting_modules(Host),
    warn_plaintext_url(Host),
    ok.

stop(Host) ->
    ejabberd_hooks:delete(c2s_unauthenticated_packet, Host, ?MODULE, c2s_unauthenticated_packet, 40),
    ejabberd_hooks:delete(c2s_pre_auth_features, Host, ?MODULE, stream_features, 60),
    ejabberd_hooks:delete(roster_in_subscription, Host, ?MODULE, in_subscription, 60),
    ejabberd_hooks:delete(adhoc_local_items, Host, ?MODULE, adhoc_local_items, 60),
    ejabberd_hooks:delete(adhoc_local_commands, Host, ?MODULE, adhoc_local_commands, 60),
    ejabberd_hooks:delete(disco_local_features, Host, ?MODULE, disco_local_features, 60),
    ejabberd_hooks:delete(disco_local_identity, Host, ?MODULE, disco_local_identity, 60),
    ejabberd_hooks:delete(remove_user, Host, ?MODULE, remove_user, 50),
    ok.

reload(Host, _NewOpts, _OldOpts) ->
    warn_plaintext_url(Host),
    ok.

%% mod_adhoc answers the XEP-0050 IQs that carry our invite commands.
depends(_Host, _Opts) ->
    [{mod_adhoc, soft}].

mod_opt_type(url) -> econf:url();
mod_opt_type(key) -> econf:binary();
mod_opt_type(timeout) -> econf:pos_int();
mod_opt_type(ca_file) -> econf:either(undefined, econf:file());
mod_opt_type(invite_only) -> econf:bool();
mod_opt_type(invite_access) -> econf:acl();
mod_opt_type(create_account_access) -> econf:acl();
mod_opt_type(max_invites_per_user) -> econf:pos_int();
mod_opt_type(preauth_per_minute) -> econf:non_neg_int();
mod_opt_type(subscribe_per_minute) -> econf:non_neg_int().

mod_options(_Host) ->
    [{url, <<"http://127.0.0.1:3000">>},
     {key, <<"">>},
     {timeout, 5000},
     {ca_file, undefined},
     {invite_only, true},
     %% Every user of this host (users of other servers never may).
     {invite_access, all},
     %% Members of the `admin` ACL only: an invite for a username of their choice.
     {create_account_access, [{allow, [{acl, admin}]}]},
     {max_invites_per_user, 10},
     {preauth_per_minute, 10},
     {subscribe_per_minute, 6}].

mod_doc() ->
    #{desc => [<<"In-band registration with xmpp-invites tokens (XEP-0401, XEP-0445, "
                 "XEP-0379) and the XEP-0401 ad-hoc invite commands, answered by the "
                 "xmpp-invites service.">>]}.

opt(Host, Name) -> gen_mod:get_module_opt(Host, ?MODULE, Name).

%% The key, every token and every new password travel to the service: plain
%% http:// only to this machine. Anything else is refused (every call answers
%% "try later", nothing is sent), said once per (re)load.
plaintext_url(Host) ->
    Url = opt(Host, url),
    case uri_string:parse(Url) of
        #{scheme := Scheme, host := H} ->
            case string:lowercase(Scheme) of
                <<"http">> -> not loopback(string:lowercase(H));
                _ -> false
            end;
        _ -> false
    end.

loopback(<<"localhost">>) -> true;
loopback(Host) ->
    case inet:parse_strict_address(binary_to_list(Host)) of
        {ok, {127, _, _, _}} -> true;
        {ok, {0, 0, 0, 0, 0, 0, 0, 1}} -> true;
        _ -> false
    end.

warn_plaintext_url(Host) ->
    case plaintext_url(Host) of
        true ->
            ?ERROR_MSG("mod_xmpp_invites on ~ts refuses its url: plain http:// is allowed only to a loopback host "
                       "(127.0.0.0/8, ::1, localhost); use https:// (every invite answer is 'try later' until then)", [Host]);
        false -> ok
    end.

%% ejabberd 26's mod_invites answers the same IQs from its own token store:
%% two owners of one token namespace would confuse every app.
warn_conflicting_modules(Host) ->
    lists:foreach(
      fun(Mod) ->
              case gen_mod:is_loaded(Host, Mod) of
                  true ->
                      ?WARNING_MSG("~ts is loaded next to mod_xmpp_invites on ~ts: unload it, "
                                   "invites are answered by the xmpp-invites service", [Mod, Host]);
                  false -> ok
              end
      end, [mod_invites]).

%%%===================================================================
%%% Stream features: both invite features, and iq-register
%%%===================================================================
%% Conversations looks for urn:xmpp:invite, Monal and the Snikket SDK for
%% urn:xmpp:ibr-token:0: advertise both. The hook has no session state, so
%% it cannot tell a plaintext stream; the packet handler refuses those.
stream_features(Acc, _Host) ->
    Invite = #xmlel{name = <<"register">>, attrs = [{<<"xmlns">>, ?NS_INVITE}]},
    IbrToken = #xmlel{name = <<"register">>, attrs = [{<<"xmlns">>, ?NS_IBR_TOKEN}]},
    Register = case lists:member(#feature_register{}, Acc) of
                   true -> [];
                   %% mod_register hides it when its access is none; the apps
                   %% need it to start registration with their token.
                   false -> [#feature_register{}]
               end,
    Acc ++ Register ++ [Invite, IbrToken].

%%%===================================================================
%%% Unauthenticated stanzas: preauth and jabber:iq:register
%%%===================================================================
c2s_unauthenticated_packet(#{lserver := Host} = State, #iq{type = T, sub_els = [El]} = IQ)
  when T == set; T == get ->
    case classify(El) of
        {preauth, Token} when T == set ->
            {stop, handle_preauth(State, IQ, Host, Token)};
        register ->
            handle_register(State, IQ, Host);
        _ ->
            State
    end;
c2s_unauthenticated_packet(State, _Pkt) ->
    State.

classify(#xmlel{name = <<"preauth">>} = El) ->
    case fxml:get_tag_attr_s(<<"xmlns">>, El) of
        ?NS_PARS -> {preauth, fxml:get_tag_attr_s(<<"token">>, El)};
        _ -> other
    end;
classify(El) ->
    case xmpp:get_ns(El) of
        ?NS_REGISTER -> register;
        _ -> other
    end.

encrypted(State) -> maps:get(stream_encrypted, State, false) =:= true.

reply(State, IQ, Result) ->
    #{lserver := Host} = State,
    Res = case Result of
              ok -> xmpp:make_iq_result(IQ);
              {ok, El} -> xmpp:make_iq_result(IQ, El);
              #stanza_error{} = Err -> xmpp:make_error(IQ, Err)
          end,
    ejabberd_c2s:send(State, xmpp:set_from_to(Res, jid:make(Host), undefined)).

err(Type, Reason, Txt, State) ->
    #stanza_error{type = Type, reason = Reason, text = xmpp:mk_text(Txt, maps:get(lang, State, <<"en">>))}.

invalid_token(State) -> err(cancel, 'item-not-found', ?TXT_INVALID, State).

address(State) ->
    case maps:get(ip, State, undefined) of
        {IP, _Port} -> list_to_binary(inet:ntoa(unmap_ip(IP)));
        _ -> null
    end.

%% IPv4 clients on a dual-stack listener arrive as ::ffff:a.b.c.d; the
%% service keys its per-address limits on the plain IPv4 form.
unmap_ip({0, 0, 0, 0, 0, 16#ffff, AB, CD}) -> {AB bsr 8, AB band 255, CD bsr 8, CD band 255};
unmap_ip(IP) -> IP.

handle_preauth(State, IQ, Host, Token) ->
    case encrypted(State) of
        false ->
            reply(State, IQ, err(cancel, 'policy-violation', <<"Use TLS to send an invite token">>, State));
        true when Token == <<>> ->
            reply(State, IQ, invalid_token(State));
        true ->
            case throttle(Host, address(State)) of
                deny ->
                    reply(State, IQ, err(wait, 'resource-constraint', ?TXT_WAIT, State));
                allow ->
                    check_token(State, IQ, Host, Token)
            end
    end.

check_token(State, IQ, Host, Token) ->
    Body = #{token => Token, domain => Host, address => address(State)},
    case call(Host, <<"/xmpp/preauth">>, Body) of
        {200, #{<<"domain">> := Host} = Invite} ->
            Remembered = #{token => Token,
                           type => maps:get(<<"type">>, Invite, null),
                           username => maps:get(<<"username">>, Invite, null)},
            reply(State#{?STATE_KEY => Remembered}, IQ, ok);
        {200, _OtherDomain} ->
            %% The service already refuses tokens of other domains; a second
            %% check here costs nothing and keeps this server's accounts ours.
            reply(maps:remove(?STATE_KEY, State), IQ, invalid_token(State));
        {Status, _} when Status == 429 ->
            reply(State, IQ, err(wait, 'resource-constraint', ?TXT_WAIT, State));
        {Status, _} when is_integer(Status), Status >= 400, Status < 500 ->
            ?INFO_MSG("Invite token refused at preauth on ~ts (~ts)", [Host, code_of(Status)]),
            reply(maps:remove(?STATE_KEY, State), IQ, invalid_token(State));
        Other ->
            log_unavailable(Host, preauth, Other),
            %% A wait: the app may try again, and the invite stays usable.
            reply(State, IQ, err(wait, 'resource-constraint', ?TXT_UNAVAILABLE, State))
    end.

handle_register(State, #iq{type = T, sub_els = [El]} = IQ, Host) ->
    try xmpp:decode(El) of
        #register{remove = true} ->
            %% Not ours: mod_register answers account removal.
            State;
        #register{} when T == get ->
            {stop, reply(State, IQ, {ok, register_form(State)})};
        #register{} = Reg ->
            case encrypted(State) of
                false ->
                    {stop, reply(State, IQ, err(cancel, 'policy-violation', <<"Use TLS to register">>, State))};
                true ->
                    {stop, register(State, IQ, Host, credentials(Reg))}
            end
    catch
        _:{xmpp_codec, Why} ->
            Txt = xmpp:io_format_error(Why),
            {stop, reply(State, IQ, xmpp:err_bad_request(Txt, maps:get(lang, State, <<"en">>)))}
    end.

%% The legacy fields and the x:data form, both filled with the preset
%% username when the invite has one (Siskin submits the form if offered).
register_form(State) ->
    Username = case maps:get(?STATE_KEY, State, undefined) of
                   #{username := U} when is_binary(U) -> U;
                   _ -> <<"">>
               end,
    Form = #xdata{type = form,
                  title = <<"Account registration">>,
                  instructions = [<<"Choose a username and password">>],
                  fields = [#xdata_field{var = <<"FORM_TYPE">>, type = hidden, values = [?NS_REGISTER]},
                            #xdata_field{var = <<"username">>, type = 'text-single', label = <<"Username">>,
                                         required = true, values = [Username || Username /= <<"">>]},
                            #xdata_field{var = <<"password">>, type = 'text-private', label = <<"Password">>,
                                         required = true}]},
    #register{instructions = <<"Choose a username and password">>,
              username = Username, password = <<"">>, xdata = Form}.

credentials(#register{xdata = #xdata{type = submit, fields = Fields}}) ->
    Get = fun(Var) ->
                  case lists:keyfind(Var, #xdata_field.var, Fields) of
                      #xdata_field{values = [V | _]} -> V;
                      _ -> undefined
                  end
          end,
    {Get(<<"username">>), Get(<<"password">>)};
credentials(#register{username = U, password = P}) ->
    {U, P}.

register(State, IQ, _Host, {U, P}) when not is_binary(U); not is_binary(P); U == <<>>; P == <<>> ->
    reply(State, IQ, err(modify, 'not-acceptable', <<"Username and password are required">>, State));
register(State, IQ, Host, {Username, Password}) ->
    case maps:get(?STATE_KEY, State, undefined) of
        #{token := Token} ->
            Body = #{token => Token, domain => Host, username => Username,
                     password => Password, address => address(State)},
            submit_registration(State, IQ, Host, Body);
        undefined ->
            case invite_only(Host, Username) of
                true ->
                    reply(State, IQ, err(modify, 'not-acceptable', ?TXT_INVITE_ONLY, State));
                false ->
                    %% Open registration still goes through the service, so
                    %% reservations, rate limits and username rules hold.
                    Body = #{domain => Host, username => Username,
                             password => Password, address => address(State)},
                    submit_registration(State, IQ, Host, Body)
            end
    end.

%% invite_only: false opens registration only as far as mod_register's own
%% `access` rule allows: one switch for the operator who closed it there.
invite_only(Host, Username) ->
    case opt(Host, invite_only) of
        true -> true;
        false ->
            case gen_mod:is_loaded(Host, mod_register) of
                false -> false;
                true ->
                    Access = mod_register_opt:access(Host),
                    JID = jid:make(Username, Host),
                    JID == error orelse acl:match_rule(Host, Access, JID) == deny
            end
    end.

submit_registration(State, IQ, Host, Body) ->
    case call(Host, <<"/xmpp/register">>, Body) of
        {201, #{<<"jid">> := _}} ->
            %% The service created the account through ejabberd's API, which
            %% already ran the register_user hook: do not fire it again.
            %% Forget the invite so a second registration on this stream
            %% cannot ride on it.
            reply(maps:remove(?STATE_KEY, State), IQ, ok);
        {Status, Error} ->
            Code = error_code(Status, Error),
            case Code of
                unavailable -> log_unavailable(Host, register, {Status, Error});
                _ -> ?INFO_MSG("In-band registration on ~ts refused by the invite service (~ts)", [Host, Code])
            end,
            reply(State, IQ, register_error(Code, State))
    end.

error_code(Status, #{<<"error">> := Code}) when is_integer(Status), Status < 500, is_binary(Code) -> Code;
error_code(_, _) -> unavailable.

register_error(<<"username-taken">>, State) ->
    err(cancel, conflict, <<"The requested username already exists">>, State);
%% RESERVED_USERNAMES: the app asks for another name, as for a taken one.
register_error(<<"username-reserved">>, State) ->
    err(cancel, conflict, <<"The requested username is reserved">>, State);
register_error(<<"password-weak">>, State) ->
    err(modify, 'not-acceptable', ?TXT_WEAK, State);
register_error(<<"username-invalid">>, State) ->
    err(modify, 'not-acceptable', <<"The requested username is not allowed">>, State);
register_error(<<"username-mismatch">>, State) ->
    err(modify, 'not-acceptable', <<"This invite is for another username">>, State);
register_error(<<"registration-closed">>, State) ->
    err(modify, 'not-acceptable', ?TXT_INVITE_ONLY, State);
register_error(Code, State) when Code == <<"rate-limited">>; Code == <<"redemption-in-progress">> ->
    err(wait, 'resource-constraint', ?TXT_WAIT, State);
register_error(<<"token-", _/binary>>, State) ->
    invalid_token(State);
register_error(<<"forbidden">>, State) ->
    invalid_token(State);
register_error(unavailable, State) ->
    err(wait, 'internal-server-error', ?TXT_UNAVAILABLE, State);
register_error(_Other, State) ->
    err(modify, 'not-acceptable', <<"Registration failed">>, State).

%%%===================================================================
%%% XEP-0379: a subscription carrying a contact invite's token
%%%===================================================================
%% Runs after mod_roster recorded the request (Acc = true: the contact's
%% item changed). If the service spends the invite, the contact approves
%% and subscribes back, as the contact's own client would; the subscriber's
%% app accepts that and both items end "both". Any refusal leaves the
%% request to the user (manual approval), as XEP-0379 requires.
in_subscription(true, #presence{type = subscribe, from = From, to = To} = Pres) ->
    case preauth_token(Pres) of
        undefined -> true;
        Token ->
            Host = To#jid.lserver,
            Contact = jid:remove_resource(To),
            Subscriber = jid:remove_resource(From),
            Body = #{token => Token, domain => Host,
                     contact => jid:encode(Contact), subscriber => jid:encode(Subscriber)},
            case subscribe_throttle(Host, Subscriber) == allow andalso call(Host, <<"/xmpp/subscribe">>, Body) of
                false ->
                    ?INFO_MSG("Too many subscriptions with invite tokens from ~ts: left to the user",
                              [jid:encode(Subscriber)]),
                    true;
                {200, #{<<"approved">> := true}} ->
                    approve(Host, Contact, Subscriber),
                    %% Approved already: do not show the contact a request.
                    false;
                Other ->
                    case Other of
                        {S, _} when is_integer(S), S < 500 -> ok;
                        _ -> log_unavailable(Host, subscribe, Other)
                    end,
                    true
            end
    end;
in_subscription(false, #presence{type = subscribe, from = From, to = To} = Pres) ->
    %% Already approved (Conversations sends the token again right after an
    %% ibr=y registration, when both rosters already read "both"). mod_roster
    %% auto-replies `subscribed`, but the subscriber's side drops that reply
    %% (no pending request on its item), so the app would never hear back.
    %% Nothing to spend: acknowledge to a local subscriber's sessions.
    case preauth_token(Pres) of
        undefined -> false;
        _Token ->
            Contact = jid:remove_resource(To),
            Subscriber = jid:remove_resource(From),
            {Sub, _Ask, _Groups} = ejabberd_hooks:run_fold(
                                     roster_get_jid_info, To#jid.lserver, {none, none, []},
                                     [To#jid.luser, To#jid.lserver, Subscriber]),
            case (Sub == from orelse Sub == both) andalso ejabberd_router:is_my_host(Subscriber#jid.lserver) of
                true ->
                    lists:foreach(
                      fun(Resource) ->
                              Full = jid:replace_resource(Subscriber, Resource),
                              ejabberd_sm:route(Full, {route, #presence{type = subscribed, from = Contact, to = Full}})
                      end, ejabberd_sm:get_user_resources(Subscriber#jid.luser, Subscriber#jid.lserver));
                false ->
                    ok
            end,
            false
    end;
in_subscription(Acc, _Pres) ->
    Acc.

preauth_token(#presence{sub_els = Els}) ->
    Tokens = [fxml:get_tag_attr_s(<<"token">>, El)
              || #xmlel{name = <<"preauth">>} = El <- Els,
                 fxml:get_tag_attr_s(<<"xmlns">>, El) == ?NS_PARS],
    case [T || T <- Tokens, T /= <<>>] of
        [Token | _] -> Token;
        [] -> undefined
    end.

approve(Host, Contact, Subscriber) ->
    lists:foreach(
      fun(Type) ->
              Pres = #presence{type = Type, from = Contact, to = Subscriber},
              %% What ejabberd_c2s does for a user's outgoing subscription
              %% presence: update the sender's roster, then route it.
              ejabberd_hooks:run(roster_out_subscription, Host, [Pres]),
              ejabberd_router:route(Pres)
      end, [subscribed, subscribe]).

%%%===================================================================
%%% XEP-0401 ad-hoc commands: invites created from the app
%%%===================================================================
%% disco#info on a command node, as XEP-0050 peers ask before running it:
%% identity automation/command-node and the features of a command, or
%% forbidden for a user who may not run it (as Prosody's mod_adhoc answers).
disco_local_features({error, _} = Acc, _From, _To, _Node, _Lang) ->
    Acc;
disco_local_features(Acc, From, #jid{lserver = Host}, Node, Lang)
  when Node == ?NODE_INVITE; Node == ?NODE_CREATE ->
    case allowed(Host, access_of(Node), From) of
        true ->
            Features = case Acc of
                           {result, F} -> F;
                           _ -> []
                       end,
            {result, Features ++ [?NS_COMMANDS, ?NS_XDATA]};
        false ->
            {error, xmpp:err_forbidden(<<"This item is not available to you">>, Lang)}
    end;
disco_local_features(Acc, _From, _To, _Node, _Lang) ->
    Acc.

disco_local_identity(Acc, From, #jid{lserver = Host}, Node, _Lang)
  when Node == ?NODE_INVITE; Node == ?NODE_CREATE ->
    case allowed(Host, access_of(Node), From) of
        true -> Acc ++ [#identity{category = <<"automation">>, type = <<"command-node">>, name = command_name(Node)}];
        false -> Acc
    end;
disco_local_identity(Acc, _From, _To, _Node, _Lang) ->
    Acc.

access_of(?NODE_INVITE) -> invite_access;
access_of(?NODE_CREATE) -> create_account_access.

command_name(?NODE_INVITE) -> <<"Invite">>;
command_name(?NODE_CREATE) -> <<"Create account">>.

adhoc_local_items(Acc, #jid{lserver = Host} = From, #jid{lserver = Host, server = Server}, _Lang) ->
    Items = case Acc of
                {result, I} -> I;
                _ -> []
            end,
    Mine = [#disco_item{jid = jid:make(Server), node = Node, name = command_name(Node)}
            || Node <- [?NODE_INVITE, ?NODE_CREATE], allowed(Host, access_of(Node), From)],
    {result, Items ++ Mine};
adhoc_local_items(Acc, _From, _To, _Lang) ->
    Acc.

allowed(Host, Access, #jid{lserver = Host} = From) ->
    acl:match_rule(Host, opt(Host, Access), From) == allow;
allowed(_Host, _Access, _From) ->
    false.

adhoc_local_commands(Acc, From, #jid{lserver = Host}, #adhoc_command{node = Node} = Cmd)
  when Node == ?NODE_INVITE; Node == ?NODE_CREATE ->
    case allowed(Host, access_of(Node), From) of
        false ->
            {error, xmpp:err_forbidden(<<"You are not allowed to create invites">>, Cmd#adhoc_command.lang)};
        true ->
            run_command(Acc, From, Host, Cmd)
    end;
adhoc_local_commands(Acc, _From, _To, _Cmd) ->
    Acc.

run_command(_Acc, _From, _Host, #adhoc_command{action = cancel} = Cmd) ->
    xmpp_util:make_adhoc_response(Cmd, #adhoc_command{status = canceled});
run_command(_Acc, From, Host, #adhoc_command{node = ?NODE_INVITE} = Cmd) ->
    %% One step, like Prosody's: a contact invite that also allows registration.
    create_invite(Host, From, Cmd, #{type => contact});
run_command(_Acc, From, Host, #adhoc_command{node = ?NODE_CREATE, xdata = #xdata{type = submit, fields = Fields}} = Cmd) ->
    Value = fun(Var) ->
                    case lists:keyfind(Var, #xdata_field.var, Fields) of
                        #xdata_field{values = [V | _]} -> V;
                        _ -> <<"">>
                    end
            end,
    case Value(<<"username">>) of
        <<"">> ->
            {error, xmpp:err_bad_request(<<"A username is required">>, Cmd#adhoc_command.lang)};
        Username ->
            Roster = lists:member(Value(<<"roster-subscription">>), [<<"1">>, <<"true">>]),
            create_invite(Host, From, Cmd, #{type => account, username => Username,
                                            rosterSubscription => Roster})
    end;
run_command(_Acc, _From, _Host, #adhoc_command{node = ?NODE_CREATE} = Cmd) ->
    Form = #xdata{type = form, title = <<"Create an account invite">>,
                  fields = [#xdata_field{var = <<"username">>, type = 'text-single',
                                         label = <<"Username">>, required = true},
                            #xdata_field{var = <<"roster-subscription">>, type = boolean,
                                         label = <<"Add to your roster">>, values = [<<"0">>]}]},
    xmpp_util:make_adhoc_response(Cmd, #adhoc_command{status = executing, xdata = Form}).

create_invite(Host, From, Cmd, Fields) ->
    Lang = Cmd#adhoc_command.lang,
    Body = Fields#{domain => Host,
                   inviter => jid:encode(jid:remove_resource(From)),
                   maxLiveInvites => opt(Host, max_invites_per_user)},
    case call(Host, <<"/xmpp/invites">>, Body) of
        {201, #{<<"uri">> := Uri} = Invite} ->
            Result = #xdata{type = result,
                            fields = [#xdata_field{var = <<"uri">>, label = <<"Invite URI">>, values = [Uri]}]
                            ++ [#xdata_field{var = <<"landing-url">>, label = <<"Invite web page">>, values = [L]}
                                || L <- [maps:get(<<"landingUrl">>, Invite, null)], is_binary(L)]
                            ++ [#xdata_field{var = <<"expire">>, label = <<"Expires">>, values = [E]}
                                || E <- [maps:get(<<"expiresAt">>, Invite, null)], is_binary(E)]},
            xmpp_util:make_adhoc_response(Cmd, #adhoc_command{status = completed, xdata = Result});
        {Status, Error} ->
            case error_code(Status, Error) of
                <<"quota-exceeded">> ->
                    {error, #stanza_error{type = cancel, reason = 'resource-constraint',
                                          text = xmpp:mk_text(<<"You have reached your invite limit (live invites, or invites this week); try again later">>, Lang)}};
                <<"username-taken">> ->
                    {error, xmpp:err_conflict(<<"The requested username already exists">>, Lang)};
                <<"username-reserved">> ->
                    {error, xmpp:err_conflict(<<"The requested username is reserved">>, Lang)};
                <<"username-invalid">> ->
                    {error, xmpp:err_bad_request(<<"The requested username is not allowed">>, Lang)};
                <<"forbidden">> ->
                    {error, xmpp:err_forbidden(<<"You are not allowed to create invites">>, Lang)};
                <<"inviter-suspended">> ->
                    {error, xmpp:err_forbidden(<<"Your account may not create invites at the moment">>, Lang)};
                <<"invite-depth-exceeded">> ->
                    {error, xmpp:err_forbidden(<<"Your account may not create invites">>, Lang)};
                <<"rate-limited">> ->
                    {error, xmpp:err_resource_constraint(?TXT_WAIT, Lang)};
                unavailable ->
                    log_unavailable(Host, invite, {Status, Error}),
                    {error, #stanza_error{type = wait, reason = 'internal-server-error',
                                          text = xmpp:mk_text(?TXT_UNAVAILABLE, Lang)}};
                Code ->
                    ?INFO_MSG("Invite creation on ~ts refused by the invite service (~ts)", [Host, Code]),
                    {error, xmpp:err_not_allowed(<<"The invite could not be created">>, Lang)}
            end
    end.

%%%===================================================================
%%% The service: JSON over HTTP(S), bounded
%%%===================================================================
%% Runs in the calling process (the client's own c2s process): only that
%% session waits, and never longer than `timeout`.
call(Host, Path, Body) ->
    case plaintext_url(Host) of
        true -> {error, plaintext_url};
        false -> call_service(Host, Path, Body)
    end.

call_service(Host, Path, Body) ->
    Url = binary_to_list(<<(strip_slash(opt(Host, url)))/binary, Path/binary>>),
    Timeout = opt(Host, timeout),
    %% One connection per call: httpc's default profile would keep a pooled
    %% connection that outlives a failed endpoint (and its settings are
    %% shared with other modules, so we do not tune them).
    Headers = [{"authorization", "Bearer " ++ binary_to_list(opt(Host, key))},
               {"accept", "application/json"},
               {"connection", "close"}],
    HttpOptions = [{timeout, Timeout}, {connect_timeout, Timeout}, {autoredirect, false}
                   | ssl_options(Host, Url)],
    Request = {Url, Headers, "application/json", json_encode(Body)},
    try httpc:request(post, Request, HttpOptions, [{body_format, binary}]) of
        {ok, {{_, Status, _}, _RespHeaders, RespBody}} ->
            {Status, decode(RespBody)};
        {error, Reason} ->
            {error, reason_class(Reason)}
    catch
        Class:Reason ->
            {error, {Class, reason_class(Reason)}}
    end.

%% Only the shape of a failure, never its terms: those may hold the request.
reason_class(timeout) -> timeout;
reason_class({failed_connect, _}) -> failed_connect;
reason_class(Reason) when is_atom(Reason) -> Reason;
reason_class(Reason) when is_tuple(Reason), is_atom(element(1, Reason)) -> element(1, Reason);
reason_class(_) -> other.

%% ejabberd 23.01 ships jiffy; later releases wrap JSON in misc (OTP 27's
%% json module when jiffy is absent). Use misc's when it exists.
json_encode(Term) ->
    case erlang:function_exported(misc, json_encode, 1) of
        true -> iolist_to_binary(misc:json_encode(Term));
        false -> jiffy:encode(Term)
    end.

json_decode(Bin) ->
    case erlang:function_exported(misc, json_decode, 1) of
        true -> misc:json_decode(Bin);
        false -> jiffy:decode(Bin, [return_maps])
    end.

decode(<<>>) -> #{};
decode(Bin) ->
    try json_decode(Bin) of
        Map when is_map(Map) -> Map;
        _ -> #{}
    catch _:_ -> #{}
    end.

strip_slash(Url) ->
    case binary:last(Url) of
        $/ -> strip_slash(binary:part(Url, 0, byte_size(Url) - 1));
        _ -> Url
    end.

ssl_options(Host, "https://" ++ Rest) ->
    ServerName = lists:takewhile(fun(C) -> C /= $/ andalso C /= $: end, Rest),
    Trust = case opt(Host, ca_file) of
                undefined -> [{cacerts, public_key:cacerts_get()}];
                CaFile -> [{cacertfile, binary_to_list(CaFile)}]
            end,
    [{ssl, [{verify, verify_peer},
            {server_name_indication, ServerName},
            {customize_hostname_check, [{match_fun, public_key:pkix_verify_hostname_match_fun(https)}]}
            | Trust]}];
ssl_options(_Host, _Url) ->
    [].

code_of(404) -> <<"token-invalid">>;
code_of(410) -> <<"token-expired/used/revoked">>;
code_of(403) -> <<"forbidden">>;
code_of(Status) -> integer_to_binary(Status).

log_unavailable(Host, What, {error, Reason}) ->
    ?WARNING_MSG("Invite service unreachable on ~ts (~ts): ~p", [Host, What, Reason]);
log_unavailable(Host, What, {Status, _Body}) ->
    ?WARNING_MSG("Invite service failed on ~ts (~ts): HTTP ~p", [Host, What, Status]).

%%%===================================================================
%%% Preauth throttle per client address
%%%===================================================================
%% A public ETS table needs a long-lived owner: gen_mod:start runs in a
%% short-lived caller, so a tiny process of ours holds it.
ensure_throttle_table() ->
    case ets:info(?THROTTLE) of
        undefined ->
            Parent = self(),
            Pid = spawn(fun() ->
                                ets:new(?THROTTLE, [named_table, public, set, {write_concurrency, true}]),
                                Parent ! {?THROTTLE, ready},
                                receive stop -> ok end
                        end),
            receive {?THROTTLE, ready} -> ok after 5000 -> exit(Pid, kill) end;
        _ ->
            ok
    end.

throttle(Host, Address) ->
    throttle(Host, Address, opt(Host, preauth_per_minute)).

%% Subscriptions carrying a token, per sender: a local account by its JID, a
%% remote one by its server (which can make any number of JIDs). Past the
%% rate the service is not asked and the request is left to the user.
subscribe_throttle(Host, #jid{luser = User, lserver = Server}) ->
    Who = case ejabberd_router:is_my_host(Server) of
              true -> {subscribe, User, Server};
              false -> {subscribe, Server}
          end,
    throttle(Host, Who, opt(Host, subscribe_per_minute)).

throttle(Host, Who, PerMinute) ->
    case PerMinute of
        0 -> allow;
        Limit ->
            Window = erlang:system_time(second) div 60,
            Key = {Host, Who, Window},
            try ets:update_counter(?THROTTLE, Key, 1, {Key, 0}) of
                N when N > Limit -> deny;
                _ ->
                    %% Old windows are dead weight: drop them now and then.
                    case ets:info(?THROTTLE, size) > 10000 of
                        true -> ets:select_delete(?THROTTLE, [{{{'_', '_', '$1'}, '_'}, [{'<', '$1', Window}], [true]}]);
                        false -> ok
                    end,
                    allow
            catch error:badarg -> allow
            end
    end.

%%%===================================================================
%%% Deleted accounts
%%%===================================================================
%% An account deleted here (ejabberdctl unregister, the admin API, in-band
%% removal) must not leave live invites naming it as inviter: the service
%% revokes them and keeps the account's lineage record, marked deleted. Sent
%% from a process of its own (the deletion never waits on the service),
%% retried a few times if the service does not answer.
-define(DELETED_ATTEMPTS, 3).

remove_user(User, Server) ->
    Jid = <<User/binary, "@", Server/binary>>,
    spawn(fun() -> report_deleted(Server, Jid, 1) end),
    ok.

report_deleted(Host, Jid, Attempt) ->
    case call(Host, <<"/xmpp/account-deleted">>, #{<<"domain">> => Host, <<"jid">> => Jid}) of
        {200, Body} ->
            ?INFO_MSG("Reported the deletion of ~ts: ~p live invite(s) revoked", [Jid, maps:get(<<"revoked">>, Body, unknown)]);
        Other when Attempt < ?DELETED_ATTEMPTS ->
            case transient(Other) of
                true ->
                    timer:sleep(5000 * Attempt),
                    report_deleted(Host, Jid, Attempt + 1);
                false ->
                    deleted_not_reported(Jid, Other)
            end;
        Other ->
            deleted_not_reported(Jid, Other)
    end.

transient({error, _}) -> true;
transient({Status, _}) when is_integer(Status) -> Status == 429 orelse Status >= 500;
transient(_) -> false.

deleted_not_reported(Jid, Result) ->
    Status = case Result of {S, _} when is_integer(S) -> S; {error, R} -> R; _ -> other end,
    ?ERROR_MSG("Could not report the deletion of ~ts to the invite service (~p): its live invites stay valid until revoked",
               [Jid, Status]).
