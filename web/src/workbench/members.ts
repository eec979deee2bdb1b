/** "Manage members": who is in the workspace and their role; owners invite, change roles and remove. */
import type { Role } from "../core/api";
import { confirm } from "../ui/dialog";
import { clear, h, initials, userColor } from "../ui/dom";
import type { Workbench } from "./context";
import "./members.css";

interface Member {
  user_id: number;
  username: string;
  role: Role;
  created_at?: string;
}

const ROLES: Role[] = ["viewer", "editor", "owner"];
const ROLE_HELP: Record<Role, string> = {
  viewer: "reads files, follows edits and chat",
  editor: "edits files, runs terminals and tools",
  owner: "also manages members",
};

let current: { close: () => void } | null = null;

export function openMembersDialog(wb: Workbench): void {
  current?.close();
  const base = `/api/v1/workspaces/${wb.workspace.id}`;
  const previous = document.activeElement as HTMLElement | null;
  let manage = wb.role === "owner" || wb.user.is_admin;
  let members: Member[] = [];
  let online = new Set<string>();

  const list = h("ul", { class: "members-list", "aria-label": "Members" });
  const error = h("p", { class: "members-error error-text", role: "alert", hidden: true });
  const invite = h("form", { class: "members-invite", onsubmit: (event: Event) => (event.preventDefault(), void inviteMember()) });
  const closeButton = h("button", { type: "button", onclick: () => close() }, "Close");
  const dialog = h(
    "div",
    {
      class: "dialog members-dialog",
      role: "dialog",
      "aria-modal": "true",
      "aria-labelledby": "members-title",
      testid: "members-dialog",
      onkeydown: keydown,
    },
    h("h2", { id: "members-title" }, `Members of ${wb.workspace.name}`),
    list,
    error,
    invite,
    h("div", { class: "buttons" }, closeButton),
  );
  const overlay = h("div", { class: "overlay", onmousedown: (event: MouseEvent) => event.target === overlay && close() }, dialog);
  document.body.append(overlay);
  current = { close };
  closeButton.focus();
  void load();

  function close(): void {
    if (!overlay.isConnected) return;
    overlay.remove();
    current = null;
    if (previous?.isConnected) previous.focus();
  }

  function showError(message: string | null): void {
    error.hidden = message === null;
    error.textContent = message ?? "";
  }

  async function load(): Promise<void> {
    try {
      members = await wb.api.get<Member[]>(`${base}/members`);
    } catch (e) {
      showError((e as Error).message);
      return;
    }
    try {
      const present = await wb.api.get<{ username: string }[]>(`${base}/presence`);
      online = new Set(present.map((p) => p.username));
    } catch {
      online = new Set(); // who is online is a nicety; the list stands without it
    }
    render();
  }

  function render(): void {
    const order = (m: Member) => ROLES.length - ROLES.indexOf(m.role);
    const sorted = [...members].sort((a, b) => order(a) - order(b) || a.username.localeCompare(b.username));
    const hadFocus = list.contains(document.activeElement) ? (document.activeElement as HTMLElement).dataset.focusKey : undefined;
    clear(list, sorted.map(memberRow));
    if (hadFocus) list.querySelector<HTMLElement>(`[data-focus-key="${CSS.escape(hadFocus)}"]`)?.focus();
    if (document.activeElement === document.body || document.activeElement === null) closeButton.focus();
    renderInvite();
  }

  function memberRow(member: Member): HTMLElement {
    const me = member.username === wb.user.username;
    const color = userColor(member.username).color;
    const role = manage
      ? h(
          "select",
          {
            "aria-label": `Role of ${member.username}`,
            "data-focus-key": `role:${member.username}`,
            onchange: (event: Event) => void changeRole(member, (event.target as HTMLSelectElement).value as Role),
          },
          ROLES.map((r) => h("option", { value: r, selected: r === member.role, title: ROLE_HELP[r] }, r)),
        )
      : h("span", { class: "badge", title: ROLE_HELP[member.role] }, member.role);
    return h(
      "li",
      { class: "members-row", testid: `member-${member.username}` },
      h("span", { class: "members-avatar", style: `background: ${color}`, "aria-hidden": "true" }, initials(member.username)),
      h(
        "span",
        { class: "members-name" },
        member.username,
        me ? h("span", { class: "dim" }, " (you)") : null,
        online.has(member.username) ? h("span", { class: "members-online", title: "Online now", "aria-label": "online" }, "●") : null,
      ),
      role,
      manage
        ? h(
            "button",
            {
              type: "button",
              class: "icon",
              "aria-label": `Remove ${member.username}`,
              title: `Remove ${member.username}`,
              "data-focus-key": `remove:${member.username}`,
              onclick: () => void removeMember(member),
            },
            "✕",
          )
        : null,
    );
  }

  function renderInvite(): void {
    if (!manage) {
      clear(invite, h("p", { class: "dim" }, "Only owners can invite members or change roles."));
      return;
    }
    if (invite.querySelector("input")) return; // keep what is being typed
    const username = h("input", { type: "text", name: "username", placeholder: "Username", "aria-label": "Username to invite", autocomplete: "off", required: true });
    const role = h(
      "select",
      { name: "role", "aria-label": "Role for the invited member" },
      ROLES.map((r) => h("option", { value: r, selected: r === "editor" }, r)),
    );
    clear(invite, h("span", { class: "members-invite-label" }, "Invite"), username, role, h("button", { type: "submit", class: "primary" }, "Invite"));
  }

  async function act(work: () => Promise<unknown>): Promise<boolean> {
    showError(null);
    try {
      await work();
      return true;
    } catch (e) {
      showError((e as Error).message);
      return false;
    } finally {
      await load();
    }
  }

  async function changeRole(member: Member, role: Role): Promise<void> {
    const me = member.username === wb.user.username;
    if (me && member.role === "owner" && role !== "owner" && !wb.user.is_admin) {
      const sure = await confirm("Change Your Role", `As ${role}, you will no longer be able to manage members. Continue?`);
      if (!sure) return render();
    }
    const ok = await act(() => wb.api.post(`${base}/members`, { username: member.username, role }));
    if (ok && me && !wb.user.is_admin) {
      manage = role === "owner";
      render();
    }
  }

  async function removeMember(member: Member): Promise<void> {
    const me = member.username === wb.user.username;
    const sure = await confirm(
      me ? "Leave Workspace" : "Remove Member",
      me ? `Remove yourself from ${wb.workspace.name}? You will lose access to it.` : `Remove ${member.username} from ${wb.workspace.name}?`,
    );
    if (!sure) return;
    if (me) {
      // Once out, the list is no longer ours to read: close instead of showing a 403.
      showError(null);
      try {
        await wb.api.delete(`${base}/members/${encodeURIComponent(member.username)}`);
        close();
      } catch (e) {
        showError((e as Error).message);
      }
      return;
    }
    await act(() => wb.api.delete(`${base}/members/${encodeURIComponent(member.username)}`));
  }

  async function inviteMember(): Promise<void> {
    const username = (invite.elements.namedItem("username") as HTMLInputElement).value.trim();
    const role = (invite.elements.namedItem("role") as HTMLSelectElement).value as Role;
    if (!username) return;
    if (members.some((m) => m.username === username)) {
      showError(`${username} is already a member; change their role in the list.`);
      return;
    }
    const ok = await act(() => wb.api.post(`${base}/members`, { username, role }));
    if (ok) {
      const input = invite.elements.namedItem("username") as HTMLInputElement;
      input.value = "";
      input.focus();
    }
  }

  /** Escape closes; Tab stays inside the dialog. */
  function keydown(event: KeyboardEvent): void {
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      close();
      return;
    }
    if (event.key !== "Tab") return;
    const focusable = [...dialog.querySelectorAll<HTMLElement>("button, select, input")].filter((e) => !e.hasAttribute("disabled") && e.offsetParent !== null);
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last?.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first?.focus();
    }
  }
}
