# A Ruby on Rails 6.1 application for forgeproof's scanner zoo.
#
# Rails's request forgery protection guards the application as its guides
# show (protect_from_forgery with: :exception, the Origin check and
# per-form tokens of config.load_defaults, authenticity_token in forms,
# <meta name="csrf-token"> read into X-CSRF-Token by JavaScript, DELETE
# through a form's _method); sign-in calls reset_session, which drops the
# token's secret. Some actions carry the weaknesses listed in answers.json.
# GET /api/state/ reads back every state change, so that tests judge the
# scanner by effect.
#
# Usage: rackup -E production -o 127.0.0.1 -p PORT config.ru
ENV["RAILS_ENV"] ||= "production"
require "action_controller/railtie"
require "securerandom"
require "set"

module Zoo
  class Application < Rails::Application
    config.load_defaults 6.1
    config.eager_load = false
    config.secret_key_base = SecureRandom.hex(64)
    config.logger = Logger.new($stderr)
    # Only errors, not the refused tokens and Origins of the tests.
    config.log_level = :error
    # Planted: the session cookie has no SameSite attribute (the Rails 6.0
    # default, kept by an application upgraded without the new defaults).
    config.action_dispatch.cookies_same_site_protection = nil
  end
end
# Initialized before the controllers are defined, as in a generated
# application: the framework's defaults (ActionController::Base's own
# protect_from_forgery) must not be applied after the controllers' choices.
Zoo::Application.initialize!

LOCK = Mutex.new
STATE = { balance: 1000, points: 100, notes: [1, 2, 3], deleted: 0, removed: 0, archived: 0, transfers: 0,
          email: "alice@example.com", settings: 0, webhooks: 0, partner: 0, beta: 0, vouchers: 0, feedback: 0 }
# Every session's token, for the voucher check that forgets sessions.
ISSUED = Set.new

PAGE = <<~'ERB'
  <!doctype html><html><head><meta charset="utf-8">
  <meta name="csrf-param" content="authenticity_token"><meta name="csrf-token" content="<%= token %>">
  <title><%= title %></title></head><body><h1><%= title %></h1><p><%= text %></p>
  <% if form %><%= form_tag form do %><input name="to"><input name="amount"><button>Send</button><% end %><% end %>
  <% if login %><%= form_tag "/login/" do %><input name="username"><input name="password" type="password"><button>Sign in</button><% end %><% end %>
  </body></html>
ERB

class ApplicationController < ActionController::Base
  protect_from_forgery with: :exception

  private

  # page renders PAGE; its meta tags are csrf_meta_tags's, with the token
  # the action may also have put elsewhere.
  def page(title, text = "", form: nil, login: false, status: :ok, token: form_authenticity_token)
    LOCK.synchronize { ISSUED << global_csrf_token(session) }
    render inline: PAGE, status: status, locals: { title: title, text: text, form: form, login: login, token: token }
  end

  def signed_in
    redirect_to "/login/" unless session[:user] == "alice"
  end

  def bump(key, by = 1)
    LOCK.synchronize { STATE[key] += by }
  end
end

class BankController < ApplicationController
  before_action :signed_in, except: %i[home login_page login state webhook_preflight]
  skip_forgery_protection only: %i[webhook webhook_preflight partner beta vouchers feedback archive_note]
  before_action :cors, only: %i[webhook webhook_preflight]

  def home
    token = form_authenticity_token
    # A readable copy for the legacy feedback form's double submit.
    cookies[:fb_csrf] = token
    page "Zoo bank", "Signed in: #{session[:user] || "nobody"}", form: "/transfer/", token: token
  end

  def login_page
    page "Sign in", login: true
  end

  def login
    return page("Sign in", "Wrong password", status: :unauthorized) unless params[:username] == "alice" && params[:password] == "secret"
    reset_session
    session[:user] = "alice"
    redirect_to "/"
  end

  def state
    render json: LOCK.synchronize { STATE.dup }
  end

  def settings_page
    page "Settings page", "Email: #{STATE[:email]}"
  end

  def transfer
    n = bump(:transfers)
    bump(:balance, -params[:amount].to_i)
    page "Transfer", "#{n} transfers"
  end

  def profile
    return render(json: { error: "X-Requested-With required" }, status: :bad_request) unless request.xhr?
    LOCK.synchronize { STATE[:email] = params[:email].to_s }
    render json: { email: STATE[:email] }
  end

  # DELETE /notes/:id/, from a form's hidden _method field, with the token.
  def remove_note
    id = params[:id].to_i
    LOCK.synchronize do
      STATE[:removed] += 1
      STATE[:notes].delete(id)
    end
    head :no_content
  end

  # Planted: a webhook exempt from forgery protection, whose body is read
  # as JSON whatever its Content-Type, with a CORS policy that reflects
  # every origin with credentials.
  def webhook
    event = JSON.parse(request.raw_post) rescue {}
    render json: { ok: true, event: event.is_a?(Hash) ? event["event"] : nil, webhooks: bump(:webhooks) }
  end

  def webhook_preflight
    head :no_content
  end

  # Planted: the Origin's host name is compared, its scheme and port are not.
  def partner
    host = URI.parse(request.origin.to_s).host rescue nil
    return head(:forbidden) unless host == request.host
    page "Partner transfer", "#{bump(:partner)} partner transfers"
  end

  # Planted: Sec-Fetch-Site: same-site is trusted like same-origin.
  def beta
    sfs = request.headers["Sec-Fetch-Site"]
    ok = sfs ? %w[same-origin same-site none].include?(sfs) : request.origin == request.base_url
    return head(:forbidden) unless ok
    page "Beta", "#{bump(:beta)} beta sign-ups"
  end

  # Planted: the token is unmasked and looked up among every session's
  # tokens, not compared with this session's.
  def vouchers
    raw = begin
      masked = decode_csrf_token(request.x_csrf_token.presence || params[:authenticity_token].to_s)
      masked.bytesize == 2 * AUTHENTICITY_TOKEN_LENGTH ? unmask_token(masked) : nil
    rescue ArgumentError
      nil
    end
    return head(:forbidden) unless raw && LOCK.synchronize { ISSUED.include?(raw) }
    page "Voucher", "#{bump(:vouchers)} vouchers claimed"
  end

  # Planted: a naive double submit: the cookie and the field must match, and
  # nothing ties either to the session.
  def feedback
    c, f = cookies[:fb_csrf].to_s, params[:authenticity_token].to_s
    return head(:forbidden) if c.empty? || !ActiveSupport::SecurityUtils.secure_compare(c, f)
    page "Feedback", "#{bump(:feedback)} messages"
  end

  # Planted: a DELETE exempt from forgery protection ("a browser cannot
  # send DELETE cross-site"), which Rack::MethodOverride lets any page's
  # form reach as a POST with _method=delete.
  def archive_note
    id = params[:id].to_i
    LOCK.synchronize do
      STATE[:archived] += 1
      STATE[:notes].delete(id)
    end
    head :no_content
  end

  # Planted: state-changing GETs.
  def redeem
    left = LOCK.synchronize { STATE[:points] -= 10 if STATE[:points] >= 10; STATE[:points] }
    page "Rewards", "#{left} points left"
  end

  def delete_note
    id = params[:id].to_i
    left = LOCK.synchronize do
      STATE[:deleted] += 1
      STATE[:notes].delete(id)
      STATE[:notes].size
    end
    page "Notes", "#{left} notes"
  end

  private

  def cors
    return unless request.origin
    response.headers["Access-Control-Allow-Origin"] = request.origin
    response.headers["Access-Control-Allow-Credentials"] = "true"
    response.headers["Access-Control-Allow-Methods"] = "POST"
    response.headers["Access-Control-Allow-Headers"] = "Content-Type"
  end
end

# The JSON API as Rails's guides suggest for it: a request without a valid
# token runs with an empty session (and cookies), so it is signed out.
class ApiController < ApplicationController
  protect_from_forgery with: :null_session
  before_action :signed_in

  def settings
    render json: { settings: bump(:settings), theme: params[:theme].to_s }
  end
end

Zoo::Application.routes.draw do
  root "bank#home"
  get "/login/" => "bank#login_page"
  post "/login/" => "bank#login"
  get "/api/state/" => "bank#state"
  get "/settings/" => "bank#settings_page"
  post "/transfer/" => "bank#transfer"
  post "/api/profile/" => "bank#profile"
  delete "/notes/:id/" => "bank#remove_note"
  delete "/notes/:id/archive/" => "bank#archive_note"
  post "/api/settings/" => "api#settings"
  post "/api/webhook/" => "bank#webhook"
  match "/api/webhook/" => "bank#webhook_preflight", via: :options
  post "/partner/transfer/" => "bank#partner"
  post "/api/beta/" => "bank#beta"
  post "/vouchers/claim/" => "bank#vouchers"
  post "/feedback/" => "bank#feedback"
  get "/rewards/redeem/" => "bank#redeem"
  get "/notes/:id/delete/" => "bank#delete_note"
end

run Zoo::Application
