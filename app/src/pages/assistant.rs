//! The AI assistant page: how a tenant's people connect Claude, ChatGPT or any MCP client to
//! Charter's MCP server, and the assistants connected now, each with what it may do, when it was
//! last used, and a way to disconnect it. Tenant admins see and disconnect every assistant of their
//! tenant; an approver sees their own.

use charter_store::Connection;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

use crate::components::feedback::ConfirmPost;
use crate::components::ui::{format_time, Card, EmptyState, ErrorPanel, FormRefusal, LoadingPanel, PageHeader};
use crate::AppError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssistantView {
    /// The URL an assistant is given: Charter's MCP server.
    pub mcp_url: String,
    pub tenant_name: String,
    pub connections: Vec<Connection>,
}

#[server(endpoint = "assistant/view")]
pub async fn load_assistant() -> Result<AssistantView, AppError> {
    use crate::auth::server::{access, core, mcp_resource};
    use charter_core::Target;
    let (access, core) = (access()?, core()?);
    let tenant = core.get_tenant(&access, Target::Own).await?;
    let connections = core.list_connections(&access, Target::Own).await?;
    Ok(AssistantView { mcp_url: mcp_resource(), tenant_name: tenant.name, connections })
}

/// Disconnects one assistant of the caller's tenant. Its row posts to it as a plain form, after
/// asking.
#[server(endpoint = "assistant/disconnect")]
pub async fn disconnect(id: String) -> Result<Connection, AppError> {
    use crate::auth::server::{access, core};
    let connection = core()?.revoke_connection(&access()?, charter_core::Target::Own, &id.into()).await?;
    let message = format!("{} is disconnected: its tokens are refused from now on.", connection.client_name);
    crate::flash::server::after_redirect(crate::components::feedback::ToastKind::Success, message).await;
    Ok(connection)
}

#[component]
pub fn AssistantPage() -> impl IntoView {
    let view_model = Resource::new(|| (), |_| load_assistant());
    // A refused disconnection (already disconnected, or not this tenant's) comes back in the address.
    let refused = ServerAction::<Disconnect>::new().value().get_untracked().and_then(Result::err);
    view! {
        <Title text="AI assistant"/>
        <PageHeader title="AI assistant" subtitle="Manage your policies in conversation: connect Claude, ChatGPT or any MCP client to Charter."/>
        {refused.map(|error| view! { <div class="mb-6"><FormRefusal message=format!("Not disconnected: {error}")/></div> })}
        <Transition fallback=|| view! { <LoadingPanel/> }>
            {move || Suspend::new(async move {
                match view_model.await {
                    Ok(view_model) => view! { <AssistantPanel view_model/> }.into_any(),
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn AssistantPanel(view_model: AssistantView) -> impl IntoView {
    let AssistantView { mcp_url, tenant_name, connections } = view_model;
    view! {
        <div class="space-y-6">
            <ConnectCard mcp_url/>
            <Card title=format!("Assistants connected to {tenant_name}")>
                {if connections.is_empty() {
                    view! { <EmptyState message="No assistant is connected yet. Connect one with the URL above."/> }.into_any()
                } else {
                    view! { <ConnectionTable connections/> }.into_any()
                }}
            </Card>
        </div>
    }
}

/// The MCP URL and how each kind of client is pointed at it.
#[component]
fn ConnectCard(mcp_url: String) -> impl IntoView {
    let step = |text: &'static str| view! { <li>{text}</li> };
    view! {
        <Card title="Connect an assistant">
            <p class="text-sm text-slate-600">"Give your assistant this MCP server URL. It asks you to sign in to Charter and to approve what it may do; it then acts as you, within your role."</p>
            <code class="mt-3 block break-all rounded-md bg-slate-100 border border-slate-200 px-3 py-2 text-sm" data-testid="mcp-url">{mcp_url}</code>
            <div class="mt-5 grid gap-5 md:grid-cols-3 text-sm">
                <section>
                    <h3 class="font-medium">"Claude"</h3>
                    <ol class="mt-2 list-decimal pl-5 space-y-1 text-slate-600">
                        {step("Settings → Connectors → Add custom connector.")}
                        {step("Paste the URL above and choose Add.")}
                        {step("Choose Connect, sign in to Charter and allow.")}
                    </ol>
                </section>
                <section>
                    <h3 class="font-medium">"ChatGPT"</h3>
                    <ol class="mt-2 list-decimal pl-5 space-y-1 text-slate-600">
                        {step("Settings → Apps & Connectors → Advanced: turn on developer mode.")}
                        {step("Create a connector with the URL above, authentication OAuth.")}
                        {step("Sign in to Charter when asked and allow.")}
                    </ol>
                </section>
                <section>
                    <h3 class="font-medium">"Other MCP clients and scripts"</h3>
                    <ol class="mt-2 list-decimal pl-5 space-y-1 text-slate-600">
                        {step("Add a Streamable HTTP server with the URL above; a client that supports MCP authorisation finds the rest itself.")}
                        {step("A script may instead send a tenant API key: Authorization: Bearer chk_….")}
                    </ol>
                </section>
            </div>
            <p class="mt-4 text-xs text-slate-500">"Scopes: policies:read (read and preview policies, tools, receipts), policies:write (change policies), approvals (see and resolve approvals addressed to your approver roles). Changes made by an assistant are in the audit log as yours, via MCP and the assistant's name."</p>
        </Card>
    }
}

#[component]
fn ConnectionTable(connections: Vec<Connection>) -> impl IntoView {
    view! {
        <div class="overflow-x-auto">
            <table class="min-w-full text-sm" data-testid="connections-table">
                <thead class="text-left text-xs uppercase tracking-wide text-slate-500">
                    <tr>
                        <th class="py-2 pr-4">"Assistant"</th>
                        <th class="py-2 pr-4">"Connected by"</th>
                        <th class="py-2 pr-4">"May"</th>
                        <th class="py-2 pr-4">"Connected"</th>
                        <th class="py-2 pr-4">"Last used"</th>
                        <th class="py-2"></th>
                    </tr>
                </thead>
                <tbody class="divide-y divide-slate-100">
                    {connections.into_iter().map(|connection| view! { <ConnectionRow connection/> }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn ConnectionRow(connection: Connection) -> impl IntoView {
    let id = connection.id.to_string();
    let name = connection.client_name.clone();
    let last_used = connection.last_used_at.map(format_time).unwrap_or_else(|| "never".to_owned());
    view! {
        <tr data-testid="connection-row" data-client=name.clone()>
            <td class="py-2 pr-4 font-medium">{name.clone()}</td>
            <td class="py-2 pr-4 text-slate-600">{connection.username.clone()}</td>
            <td class="py-2 pr-4 font-mono text-xs text-slate-600">{connection.scopes.to_string()}</td>
            <td class="py-2 pr-4 text-slate-600">{format_time(connection.created_at)}</td>
            <td class="py-2 pr-4 text-slate-600" data-testid="connection-last-used">{last_used}</td>
            <td class="py-2 text-right">
                <ConfirmPost
                    id=format!("disconnect-{id}")
                    button="Disconnect"
                    title=format!("Disconnect {name}?")
                    message="Its tokens are refused from the next request on. It can be connected again later, with a new approval."
                    confirm_label="Disconnect"
                    action=Disconnect::url()
                    fields=vec![("id", id)]
                />
            </td>
        </tr>
    }
}
