# A small Ruby on Rails 6.1 application in one file, unchanged behind the
# forgeproof gateway in tests. Rails's request forgery protection
# (protect_from_forgery with: :exception, with the Origin check and
# per-form tokens of config.load_defaults) guards every POST but the
# exempt webhook. The proxy setting is the one Rails's guides recommend
# behind a TLS-terminating proxy, config.force_ssl, which marks cookies
# Secure; Rack reads X-Forwarded-Proto and X-Forwarded-Host, so that
# Rails's own Origin check compares the browser's Origin with the public
# origin. Sessions live in Rails's cookie store (_notes_session): no
# database. GET /state is read by the tests only (directly, not through
# the gateway). Run: rackup -E production -o 127.0.0.1 -p PORT config.ru
ENV["RAILS_ENV"] ||= "production"
require "action_controller/railtie"

module Notes
  class Application < Rails::Application
    config.load_defaults 6.1
    config.eager_load = false
    config.secret_key_base = "test-only-secret-" * 4
    config.hosts = ["localhost", "127.0.0.1"]
    config.logger = Logger.new($stderr)
    # Only errors, not the refused tokens and Origins of the tests.
    config.log_level = :error
    config.force_ssl = true
    # The tests read GET /state over plain HTTP, directly.
    config.ssl_options = { redirect: { exclude: ->(request) { request.path == "/state" } } }
  end
end
# Initialized before the controllers are defined, as in a generated
# application: the framework's defaults (ActionController::Base's own
# protect_from_forgery) must not be applied after the controllers' choices.
Notes::Application.initialize!

STATE = { notes: [], likes: 0, hooks: 0, resets: 0, logins: 0 }
LOCK = Mutex.new

PAGE = <<~'ERB'
  <!DOCTYPE html>
  <html><head><meta charset="utf-8"><title>Rails notes</title>
  <%= csrf_meta_tags %></head>
  <body>
  <p id="user"><%= user || "signed out" %></p>
  <% if user.nil? %>
  <%= form_tag "/login", id: "login" do %>
  <input name="user" value="alice"><button id="signin">Sign in</button>
  <% end %>
  <% else %>
  <%= form_tag "/notes" do %>
  <input name="text" id="text" value="hello"><button id="post">Post</button>
  <% end %>
  <button id="like" onclick="like()">Like</button>
  <a href="/admin" id="admin">Admin</a>
  <%= button_to "Sign out", "/logout", method: :delete, id: "signout" %>
  <% end %>
  <p id="likes"></p>
  <script>
  async function like() {
    // Rails's convention (rails-ujs): the csrf-token meta tag in X-CSRF-Token.
    const r = await fetch("/api/like", {method: "POST",
      headers: {"Content-Type": "application/json",
                "X-CSRF-Token": document.querySelector('meta[name="csrf-token"]').content},
      body: JSON.stringify({n: 1})});
    document.getElementById("likes").textContent = r.status + " " + (await r.text());
  }
  </script>
  </body></html>
ERB

ADMIN = <<~'ERB'
  <!DOCTYPE html>
  <html><head><title>Admin</title></head><body>
  <%= form_tag "/admin/reset" do %><button id="reset">Reset likes</button><% end %>
  </body></html>
ERB

class NotesController < ActionController::Base
  protect_from_forgery with: :exception
  # The webhook's callers are other servers: no token, no session.
  skip_forgery_protection only: :hook

  def index
    render inline: PAGE, locals: { user: session[:user] }
  end

  def login
    reset_session
    session[:user] = params[:user].presence || "alice"
    LOCK.synchronize { STATE[:logins] += 1 }
    redirect_to "/", status: :see_other
  end

  def logout
    reset_session
    redirect_to "/", status: :see_other
  end

  def create_note
    return head(:unauthorized) unless session[:user]
    LOCK.synchronize { STATE[:notes] << { user: session[:user], text: params[:text].to_s } }
    redirect_to "/", status: :see_other
  end

  def like
    return render(json: { error: "sign in first" }, status: :unauthorized) unless session[:user]
    render json: { likes: LOCK.synchronize { STATE[:likes] += 1 } }
  end

  def admin
    return redirect_to("/", status: :see_other) unless session[:user]
    render inline: ADMIN
  end

  def reset
    return head(:unauthorized) unless session[:user]
    LOCK.synchronize do
      STATE[:likes] = 0
      STATE[:resets] += 1
    end
    redirect_to "/", status: :see_other
  end

  def hook
    LOCK.synchronize { STATE[:hooks] += 1 }
    render json: { ok: true }
  end

  # A state-changing GET, declared unsafe in the gateway's configuration.
  def delete_note
    n = params[:n].to_i
    LOCK.synchronize { STATE[:notes].delete_at(n) if session[:user] && n < STATE[:notes].size }
    redirect_to "/", status: :see_other
  end

  def state
    render json: LOCK.synchronize { STATE.dup }
  end
end

Notes::Application.routes.draw do
  root "notes#index"
  post "/login" => "notes#login"
  delete "/logout" => "notes#logout"
  post "/notes" => "notes#create_note"
  get "/notes/:n/delete" => "notes#delete_note", constraints: { n: /\d+/ }
  post "/api/like" => "notes#like"
  get "/admin" => "notes#admin"
  post "/admin/reset" => "notes#reset"
  post "/hook" => "notes#hook"
  get "/state" => "notes#state"
end

run Notes::Application
